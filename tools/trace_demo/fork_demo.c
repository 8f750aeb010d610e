// A small real program that exercises the memory and process system calls the trace-replay
// workload understands: anonymous and shared mmaps, mprotect, mremap (grow, move, shrink), brk
// (through malloc), madvise, a thread (clone3 with CLONE_VM), fork children that write inherited
// memory (copy-on-write) and exit, one child that execs /bin/true, a vfork-style posix_spawn, and
// one failing mmap (ENOMEM). Recorded by tools/record_trace.sh.
#define _GNU_SOURCE
#include <pthread.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void *worker(void *arg) {
  (void)arg;
  char *p = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  memset(p, 1, 8 * 4096);
  munmap(p, 8 * 4096);
  return NULL;
}

int main(void) {
  const size_t pg = 4096;
  char *heap = mmap(NULL, 32 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(heap, 1, 32 * pg);
  char *shared = mmap(NULL, 8 * pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  memset(shared, 2, 8 * pg);
  mprotect(heap + 8 * pg, 4 * pg, PROT_READ);
  mprotect(heap + 8 * pg, 4 * pg, PROT_READ | PROT_WRITE);
  char *buf = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(buf, 3, 4 * pg);
  buf = mremap(buf, 4 * pg, 16 * pg, MREMAP_MAYMOVE);
  memset(buf, 4, 16 * pg);
  buf = mremap(buf, 16 * pg, 8 * pg, 0);
  char *small = malloc(100000); // below the mmap threshold: brk
  memset(small, 5, 100000);
  madvise(heap + 28 * pg, 4 * pg, MADV_DONTNEED);
  madvise(heap + 24 * pg, 4 * pg, MADV_DONTFORK);
  void *big = mmap(NULL, (size_t)1 << 46, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  (void)big; // fails with ENOMEM
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  pthread_join(t, NULL);
  for (int i = 0; i < 3; i++) {
    pid_t c = fork();
    if (c == 0) {
      memset(heap + i * 4 * pg, 6, 4 * pg); // copy-on-write of inherited pages
      char *own = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      memset(own, 7, 4 * pg);
      munmap(own, 4 * pg);
      if (i == 2) execl("/bin/true", "true", (char *)NULL);
      _exit(0);
    }
    waitpid(c, NULL, 0);
  }
  pid_t s;
  char *argv[] = {"true", NULL};
  posix_spawn(&s, "/bin/true", NULL, NULL, argv, environ); // clone3 CLONE_VM|CLONE_VFORK
  waitpid(s, NULL, 0);
  memset(heap, 8, 8 * pg);
  free(small);
  munmap(buf, 8 * pg);
  munmap(shared, 8 * pg);
  munmap(heap, 32 * pg);
  return 0;
}
