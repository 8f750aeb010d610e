/* The real kernel's side of `deno task bench:scale` (a): a fork storm.
 *
 * Maps V one-page private anonymous regions, each followed by an unmapped page so that no two can
 * merge, writes one byte to each (one faulted 4 KiB folio and one anon_vma per region), then runs
 * R rounds of N serial fork + exit: the parent forks, the child calls _exit(0) at once, the parent
 * reaps it with waitpid before the next fork. For each round it prints the wall time of the whole
 * round (fork, child exit, reap) and the sum of the parent's fork() calls alone.
 *
 * Usage: bench_scale_fork V N R
 * Output: one line per round, "ROUND storm_ns=<ns> fork_ns=<ns>", then "DONE".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PAGE 4096UL
#define BASE 0x100000000000UL

static void die(const char *what) {
  fprintf(stderr, "bench_scale_fork: %s: %s\n", what, strerror(errno));
  exit(1);
}

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long arg(char **argv, int i, long lo, long hi) {
  char *end;
  long v = strtol(argv[i], &end, 10);
  if (*end || v < lo || v > hi) {
    fprintf(stderr, "bench_scale_fork: argument %d must be in [%ld, %ld]\n", i, lo, hi);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: bench_scale_fork V N R\n");
    return 2;
  }
  long v = arg(argv, 1, 1, 60000), n = arg(argv, 2, 1, 100000), r = arg(argv, 3, 1, 1000);
  for (long i = 0; i < v; i++) {
    char *a = mmap((void *)(BASE + (unsigned long)i * 2 * PAGE), PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (a == MAP_FAILED) die("mmap");
    if (madvise(a, PAGE, MADV_NOHUGEPAGE) < 0) die("madvise");
    a[0] = 1;
  }
  for (long k = 0; k < r; k++) {
    long long forkNs = 0, t0 = now_ns();
    for (long i = 0; i < n; i++) {
      long long a = now_ns();
      pid_t pid = fork();
      if (pid < 0) die("fork");
      if (pid == 0) _exit(0);
      forkNs += now_ns() - a;
      int status;
      if (waitpid(pid, &status, 0) != pid) die("waitpid");
    }
    printf("ROUND storm_ns=%lld fork_ns=%lld\n", now_ns() - t0, forkNs);
    fflush(stdout);
  }
  printf("DONE\n");
  return 0;
}
