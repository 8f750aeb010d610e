/*
 * runner.c — real-kernel side of rmapbench calibration.
 *
 * Runs one named scenario of anonymous mappings / forks / mremaps and stops at
 * measurement points with every process of the scenario alive and parked
 * (blocked in read() on a pipe).  The controlling side reads slab counters at
 * those moments.
 *
 * Build:  gcc -O2 -o <tmpdir>/runner runner.c      (never commit the binary)
 * Usage:  runner <scenario> [int params...]
 *
 * Protocol (stdout is line oriented, written with write(2), unbuffered):
 *   READY <label> <role>:<pid>:<vmas> ...   one token per live scenario process
 *                                           (vmas = lines of /proc/<pid>/maps)
 *   ... the runner then blocks until it reads one line from stdin ...
 *   DONE                                    after full teardown (all reaped)
 *   ERROR <message>                         on failure (exit status 1)
 *
 * Scenarios (P = pages per region; regions are MAP_PRIVATE|MAP_ANONYMOUS at
 * fixed addresses from BASE with a one-page unmapped gap between them, so
 * they can never merge; "fault" = write one byte per page):
 *   breadth V N [P=4]        runner maps+faults V regions, forks N parked children
 *   breadth-cow V N [P=4]    as breadth, children write every page before parking
 *   breadth-unfaulted V N [P=4]  as breadth, but the regions are never written
 *   chain D V [P=4]          P0 maps+faults, P0 forks P1, ... Pk forks Pk+1; all alive
 *   chain-exit D V [P=4]     as chain but Pk exits (and is reaped) after forking Pk+1
 *   mprotect [V=1] [P=100]   V regions; mprotect pages 40..59 R/O, then back to R/W
 *   mprotect-unfaulted [V=1] [P=100]  split by mprotect BEFORE faulting (middle RWX),
 *                            fault low, middle, high (neighbour anon_vma reuse), restore
 *   mremap-faulted [P=10]    §12.5 E5: R1 at X (faulted), move to Y, R2 at Y+P, fault R2
 *   mremap-unfaulted [P=10]  same, R1 not faulted before the move
 *   dontunmap [P=10]         §12.5 E6: H at T faulted, mremap(T->F, DONTUNMAP), refault T
 *   idle                     control: three READY points, nothing else
 *   timing [R=9]             no READY points: times single operations with CLOCK_MONOTONIC
 *                            (see sc_timing) and prints one line per figure,
 *                            TIMING <name> <median_ns> <min_ns> <max_ns> <rounds>
 *                            (median/min/max over R rounds of a per-round mean), then DONE
 *
 * The runner is a child subreaper (PR_SET_CHILD_SUBREAPER) so orphaned chain
 * generations are re-parented to it and reaped by it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

#define PAGE 4096UL
#define BASE 0x100000000000UL /* 16 TiB: far from the binary, heap and mmap_base */
#define MAX_PROCS 4096

struct proc {
  const char *role;
  int idx;
  pid_t pid;
};

static struct proc procs[MAX_PROCS];
static int nprocs;
static int release_pipe[2] = {-1, -1}; /* parked processes read; EOF = exit */
static int report_pipe[2] = {-1, -1};  /* scenario processes -> runner */
static int token_pipe[2] = {-1, -1};   /* runner -> chain head ("fork now") */
static pid_t runner_pid;
static char linebuf[256];
static char iobuf[1 << 16];

static void out(const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, s, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      _exit(3);
    }
    s += w;
    n -= (size_t)w;
  }
}

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = snprintf(buf, sizeof buf, "ERROR ");
  n += vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof buf - 2) n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  /* A scenario child reports to stderr only: stdout is the runner's channel. */
  if (getpid() == runner_pid) {
    out(buf, (size_t)n);
    /* Kill our own process group (all scenario processes), only if we lead it. */
    if (getpgrp() == runner_pid) {
      signal(SIGTERM, SIG_IGN); /* survive our own kill() to report and exit */
      kill(0, SIGTERM);
    }
    _exit(1);
  }
  (void)!write(2, buf, (size_t)n);
  _exit(1);
}

static int count_vmas(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open %s: %s", path, strerror(errno));
  int lines = 0;
  for (;;) {
    ssize_t r = read(fd, iobuf, sizeof iobuf);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("read %s: %s", path, strerror(errno));
    }
    if (r == 0) break;
    for (ssize_t i = 0; i < r; i++)
      if (iobuf[i] == '\n') lines++;
  }
  close(fd);
  return lines;
}

static void add_proc(const char *role, int idx, pid_t pid) {
  if (nprocs >= MAX_PROCS) die("too many processes");
  procs[nprocs].role = role;
  procs[nprocs].idx = idx;
  procs[nprocs].pid = pid;
  nprocs++;
}

static void remove_proc(pid_t pid) {
  for (int i = 0; i < nprocs; i++)
    if (procs[i].pid == pid) {
      memmove(&procs[i], &procs[i + 1], (size_t)(nprocs - i - 1) * sizeof procs[0]);
      nprocs--;
      return;
    }
}

/* Wait for one line on stdin (the controller has measured). */
static void wait_go(void) {
  size_t n = 0;
  for (;;) {
    char c;
    ssize_t r = read(0, &c, 1);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("read stdin: %s", strerror(errno));
    }
    if (r == 0) die("stdin closed");
    if (c == '\n') break;
    if (n < sizeof linebuf - 1) linebuf[n++] = c;
  }
}

/* Measurement point: print READY with per-process VMA counts, then park. */
static void ready(const char *label) {
  char buf[1 << 15];
  int n = snprintf(buf, sizeof buf, "READY %s", label);
  for (int i = 0; i < nprocs && n < (int)sizeof buf - 64; i++)
    n += snprintf(buf + n, sizeof buf - (size_t)n, " %s%d:%d:%d", procs[i].role, procs[i].idx,
                  (int)procs[i].pid, count_vmas(procs[i].pid));
  buf[n++] = '\n';
  out(buf, (size_t)n);
  wait_go();
}

static void xpipe(int p[2]) {
  if (pipe2(p, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
}

/* In a freshly forked scenario child: keep only the ends it may use. */
static void child_fds(void) {
  if (release_pipe[1] >= 0) close(release_pipe[1]);
  if (report_pipe[0] >= 0) close(report_pipe[0]);
  if (token_pipe[1] >= 0) close(token_pipe[1]);
  close(0);
}

static void report(pid_t pid) {
  int v = (int)pid;
  if (write(report_pipe[1], &v, sizeof v) != (ssize_t)sizeof v) die("report: %s", strerror(errno));
}

static pid_t read_report(void) {
  int v;
  for (;;) {
    ssize_t r = read(report_pipe[0], &v, sizeof v);
    if (r < 0 && errno == EINTR) continue;
    if (r != (ssize_t)sizeof v) die("scenario process vanished (report pipe r=%zd)", r);
    return (pid_t)v;
  }
}

/* Block until the release pipe reaches EOF, then exit. */
__attribute__((noreturn)) static void park_forever(void) {
  char c;
  for (;;) {
    ssize_t r = read(release_pipe[0], &c, 1);
    if (r < 0 && errno == EINTR) continue;
    _exit(0);
  }
}

static void read_token(void) {
  char c;
  for (;;) {
    ssize_t r = read(token_pipe[0], &c, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r != 1) _exit(0); /* runner gone or teardown */
    return;
  }
}

static void give_token(void) {
  char c = 't';
  if (write(token_pipe[1], &c, 1) != 1) die("token: %s", strerror(errno));
}

static void release_all(void) {
  if (release_pipe[1] >= 0) {
    close(release_pipe[1]);
    release_pipe[1] = -1;
  }
  if (token_pipe[1] >= 0) {
    close(token_pipe[1]);
    token_pipe[1] = -1;
  }
}

static void reap_pid(pid_t pid) {
  int st;
  for (;;) {
    pid_t r = waitpid(pid, &st, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("waitpid %d: %s", (int)pid, strerror(errno));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("process %d failed (status 0x%x)", (int)pid, st);
    remove_proc(pid);
    return;
  }
}

static void reap_all(void) {
  int st;
  for (;;) {
    pid_t r = waitpid(-1, &st, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      if (errno == ECHILD) break;
      die("waitpid: %s", strerror(errno));
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("process %d failed (status 0x%x)", (int)r, st);
    remove_proc(r);
  }
}

/* ---- regions ---------------------------------------------------------- */

static unsigned long region_addr(int i, long pages) {
  return BASE + (unsigned long)i * (unsigned long)(pages + 1) * PAGE;
}

static void *map_at(unsigned long addr, long pages) {
  void *p = mmap((void *)addr, (size_t)pages * PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p == MAP_FAILED) die("mmap %#lx: %s", addr, strerror(errno));
  if ((unsigned long)p != addr) die("mmap %#lx landed at %p (MAP_FIXED_NOREPLACE unsupported?)", addr, p);
  return p;
}

static void fault(unsigned long addr, long pages) {
  volatile char *c = (volatile char *)addr;
  for (long i = 0; i < pages; i++) c[(size_t)i * PAGE] = 1;
}

static void map_regions(int v, long pages, int do_fault) {
  for (int i = 0; i < v; i++) {
    map_at(region_addr(i, pages), pages);
    if (do_fault) fault(region_addr(i, pages), pages);
  }
}

static void unmap_regions(int v, long pages) {
  for (int i = 0; i < v; i++)
    if (munmap((void *)region_addr(i, pages), (size_t)pages * PAGE) < 0) die("munmap: %s", strerror(errno));
}

static void write_regions(int v, long pages) {
  for (int i = 0; i < v; i++) fault(region_addr(i, pages), pages);
}

/* ---- scenarios -------------------------------------------------------- */

enum breadth_kind { B_PLAIN, B_COW, B_UNFAULTED };

static void sc_breadth(int v, int n, long pages, enum breadth_kind kind) {
  ready("base");
  map_regions(v, pages, kind != B_UNFAULTED);
  ready("mapped");
  for (int c = 0; c < n; c++) {
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
      child_fds();
      if (kind == B_COW) write_regions(v, pages);
      report(getpid());
      park_forever();
    }
    add_proc("child", c + 1, pid);
  }
  for (int c = 0; c < n; c++) read_report();
  ready("forked");
  release_all();
  reap_all();
  ready("reaped");
  unmap_regions(v, pages);
  ready("unmapped");
}

/* Chain generations, running in the forked process P0; each loop iteration
 * is the next generation (the child of the previous one). */
static void chain_gen(int d, int v, long pages, int exit_after_fork) {
  map_regions(v, pages, 1);
  for (int k = 0;; k++) {
    report(getpid());
    if (k == d) park_forever();
    read_token();
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) continue; /* the child becomes generation k+1 */
    if (exit_after_fork) _exit(0);
    park_forever();
  }
}

static void sc_chain(int d, int v, long pages, int exit_after_fork) {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) die("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
  ready("base");
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    child_fds();
    chain_gen(d, v, pages, exit_after_fork);
    _exit(0);
  }
  pid_t prev = read_report();
  add_proc("gen", 0, prev);
  char label[32];
  ready("gen0");
  for (int k = 1; k <= d; k++) {
    give_token();
    pid_t next = read_report();
    add_proc("gen", k, next);
    /* Pk-1 was reparented to us (subreaper) or is our child: reap it so its
     * mm is torn down before we measure and before Pk may fork. */
    if (exit_after_fork) reap_pid(prev);
    prev = next;
    snprintf(label, sizeof label, "gen%d", k);
    ready(label);
  }
  release_all();
  reap_all();
  ready("reaped");
}

static void mprot(unsigned long addr, long pages, int prot) {
  if (mprotect((void *)addr, (size_t)pages * PAGE, prot) < 0) die("mprotect: %s", strerror(errno));
}

/* fault_first: E2 (fault 100 pages, mprotect 40..59 R/O, back to R/W).
 * !fault_first: E2 variant: split first (middle made RWX: still writable, and
 * access bits are ignored by anon_vma_compatible), then fault low, middle,
 * high in that order so the middle and high parts reuse the low part's
 * anon_vma through find_mergeable_anon_vma, then restore R/W (re-merge). */
static void sc_mprotect(int v, long pages, int fault_first) {
  if (pages < 60) die("mprotect needs P >= 60");
  ready("base");
  map_regions(v, pages, fault_first);
  ready("mapped");
  for (int i = 0; i < v; i++)
    mprot(region_addr(i, pages) + 40 * PAGE, 20, fault_first ? PROT_READ : PROT_READ | PROT_WRITE | PROT_EXEC);
  ready("split");
  if (!fault_first) {
    for (int i = 0; i < v; i++) fault(region_addr(i, pages), 40);
    ready("faulted-low");
    for (int i = 0; i < v; i++) fault(region_addr(i, pages) + 40 * PAGE, 20);
    ready("faulted-mid");
    for (int i = 0; i < v; i++) fault(region_addr(i, pages) + 60 * PAGE, pages - 60);
    ready("faulted-high");
  }
  for (int i = 0; i < v; i++) mprot(region_addr(i, pages) + 40 * PAGE, 20, PROT_READ | PROT_WRITE);
  ready("restored");
  unmap_regions(v, pages);
  ready("unmapped");
}

static void do_mremap(unsigned long from, unsigned long to, long pages, int extra) {
  void *p = mremap((void *)from, (size_t)pages * PAGE, (size_t)pages * PAGE,
                   MREMAP_MAYMOVE | MREMAP_FIXED | extra, (void *)to);
  if (p == MAP_FAILED) die("mremap %#lx->%#lx: %s", from, to, strerror(errno));
}

static void sc_mremap(long pages, int fault_first) {
  unsigned long x = BASE, y = BASE + 0x10000000UL; /* Y: 256 MiB above X, free */
  ready("base");
  map_at(x, pages);
  if (fault_first) fault(x, pages);
  ready("r1");
  do_mremap(x, y, pages, 0);
  ready("moved");
  map_at(y + (unsigned long)pages * PAGE, pages);
  ready("r2-mapped");
  fault(y + (unsigned long)pages * PAGE, pages);
  ready("r2-faulted");
  fault(y, pages);
  ready("r1-faulted");
  if (munmap((void *)y, 2 * (size_t)pages * PAGE) < 0) die("munmap: %s", strerror(errno));
  ready("unmapped");
}

static void sc_dontunmap(long pages) {
  unsigned long t = BASE, f = BASE + 0x10000000UL;
  ready("base");
  map_at(t, pages);
  fault(t, pages);
  ready("mapped");
  do_mremap(t, f, pages, MREMAP_DONTUNMAP);
  ready("moved");
  fault(t, pages);
  ready("refaulted");
  if (munmap((void *)t, (size_t)pages * PAGE) < 0) die("munmap: %s", strerror(errno));
  if (munmap((void *)f, (size_t)pages * PAGE) < 0) die("munmap: %s", strerror(errno));
  ready("unmapped");
}

/* forkbench: time fork() of a process with V faulted regions, N times. Each child exits at once;
 * only the parent's fork() call (dup_mmap and the rest of copy_process) is timed. */
static void sc_forkbench(int v, int n, long pages) {
  map_regions(v, pages, 1);
  long long total = 0, best = -1;
  for (int i = 0; i < n; i++) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) _exit(0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long ns = (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    total += ns;
    if (best < 0 || ns < best) best = ns;
    reap_pid(pid);
  }
  char buf[160];
  int len = snprintf(buf, sizeof buf, "RESULT forks=%d total_ns=%lld min_ns=%lld vmas=%d\n", n, total,
                     best, count_vmas(getpid()));
  out(buf, (size_t)len);
  unmap_regions(v, pages);
}

/* ---- timing ----------------------------------------------------------- */

#define T_FORK_V1 500     /* two VMA counts for the fork and exit slopes */
#define T_FORK_V2 2000
#define T_FORK_REPS 10    /* forks (exits) per round and VMA count */
#define T_PAGES 4096      /* pages per fault round */
#define T_MPROT_V 1000    /* 3-page regions split and merged per round */
#define T_MUNMAP_V 2000   /* 1-page regions unmapped per round */

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Prints the median, min and max of r per-round figures. */
static void timing_line(const char *name, double *xs, int r) {
  qsort(xs, (size_t)r, sizeof xs[0], cmp_double);
  double med = r % 2 ? xs[r / 2] : (xs[r / 2 - 1] + xs[r / 2]) / 2;
  char buf[200];
  int n = snprintf(buf, sizeof buf, "TIMING %s %.1f %.1f %.1f %d\n", name, med, xs[0], xs[r - 1], r);
  out(buf, (size_t)n);
}

static void no_thp(unsigned long addr, long pages) {
  /* Keep every fault at 4 KiB: no PMD or mTHP folios whatever the sysfs policy. */
  if (madvise((void *)addr, (size_t)pages * PAGE, MADV_NOHUGEPAGE) < 0) die("madvise: %s", strerror(errno));
}

/* Mean ns of one parent-side fork() of a process with v faulted 1-page regions (mapped). */
static double t_fork(void) {
  long long sum = 0;
  for (int i = 0; i < T_FORK_REPS; i++) {
    long long a = now_ns();
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) _exit(0);
    sum += now_ns() - a;
    reap_pid(pid);
  }
  return (double)sum / T_FORK_REPS;
}

/* Mean ns from telling a parked child (sharing the mapped regions) to exit until waitpid returns. */
static double t_exit(void) {
  long long sum = 0;
  for (int i = 0; i < T_FORK_REPS; i++) {
    int go[2], rdy[2];
    if (pipe(go) < 0 || pipe(rdy) < 0) die("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
      char c = 'r';
      close(go[1]);
      close(rdy[0]);
      if (write(rdy[1], &c, 1) != 1) _exit(1);
      while (read(go[0], &c, 1) < 0 && errno == EINTR) {
      }
      _exit(0);
    }
    close(go[0]);
    close(rdy[1]);
    char c;
    while (read(rdy[0], &c, 1) < 0 && errno == EINTR) {
    }
    close(rdy[0]);
    usleep(2000); /* let the child block in read() */
    long long a = now_ns();
    if (write(go[1], "g", 1) != 1) die("go: %s", strerror(errno));
    int st;
    while (waitpid(pid, &st, 0) < 0)
      if (errno != EINTR) die("waitpid: %s", strerror(errno));
    sum += now_ns() - a;
    close(go[1]);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("exit child failed (status 0x%x)", st);
  }
  return (double)sum / T_FORK_REPS;
}

/* Per-page ns of the first write (new zeroed page) or read (zero page) of T_PAGES fresh pages. */
static double t_first_touch(int write_access) {
  map_at(BASE, T_PAGES);
  no_thp(BASE, T_PAGES);
  volatile char *c = (volatile char *)BASE;
  char sink = 0;
  long long a = now_ns();
  if (write_access)
    for (long i = 0; i < T_PAGES; i++) c[(size_t)i * PAGE] = 1;
  else
    for (long i = 0; i < T_PAGES; i++) sink ^= c[(size_t)i * PAGE];
  long long ns = now_ns() - a;
  (void)sink;
  if (munmap((void *)BASE, T_PAGES * PAGE) < 0) die("munmap: %s", strerror(errno));
  return (double)ns / T_PAGES;
}

/* Per-page ns of a child's CoW write faults on T_PAGES pages it shares with its (alive) parent. */
static double t_cow(void) {
  map_at(BASE, T_PAGES);
  no_thp(BASE, T_PAGES);
  fault(BASE, T_PAGES);
  int res[2];
  if (pipe(res) < 0) die("pipe: %s", strerror(errno));
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    close(res[0]);
    volatile char *c = (volatile char *)BASE;
    long long a = now_ns();
    for (long i = 0; i < T_PAGES; i++) c[(size_t)i * PAGE] = 2;
    long long ns = now_ns() - a;
    if (write(res[1], &ns, sizeof ns) != (ssize_t)sizeof ns) _exit(1);
    _exit(0);
  }
  close(res[1]);
  long long ns;
  ssize_t r;
  while ((r = read(res[0], &ns, sizeof ns)) < 0 && errno == EINTR) {
  }
  close(res[0]);
  reap_pid(pid);
  if (r != (ssize_t)sizeof ns) die("cow child sent no result");
  if (munmap((void *)BASE, T_PAGES * PAGE) < 0) die("munmap: %s", strerror(errno));
  return (double)ns / T_PAGES;
}

/* Per-call ns of mprotect splitting the middle page of a faulted 3-page region off (R/O) and of
 * the mprotect merging it back (R/W), over T_MPROT_V regions (mapped and faulted). */
static void t_mprotect(double *split, double *merge) {
  int base = count_vmas(getpid());
  long long a = now_ns();
  for (int i = 0; i < T_MPROT_V; i++) mprot(region_addr(i, 3) + PAGE, 1, PROT_READ);
  long long b = now_ns();
  int mid = count_vmas(getpid());
  long long c = now_ns();
  for (int i = 0; i < T_MPROT_V; i++) mprot(region_addr(i, 3) + PAGE, 1, PROT_READ | PROT_WRITE);
  long long d = now_ns();
  int end = count_vmas(getpid());
  if (mid != base + 2 * T_MPROT_V || end != base)
    die("mprotect timing: VMAs %d -> %d -> %d, expected splits and merges", base, mid, end);
  *split = (double)(b - a) / T_MPROT_V;
  *merge = (double)(d - c) / T_MPROT_V;
}

/* Per-VMA ns of munmap of T_MUNMAP_V faulted 1-page regions. */
static double t_munmap(void) {
  map_regions(T_MUNMAP_V, 1, 1);
  long long a = now_ns();
  for (int i = 0; i < T_MUNMAP_V; i++)
    if (munmap((void *)region_addr(i, 1), PAGE) < 0) die("munmap: %s", strerror(errno));
  return (double)(now_ns() - a) / T_MUNMAP_V;
}

/* Per-VMA ns of one munmap call over T_MUNMAP_V faulted 1-page regions (and the gaps). */
static double t_munmap_range(void) {
  map_regions(T_MUNMAP_V, 1, 1);
  long long a = now_ns();
  if (munmap((void *)BASE, (size_t)T_MUNMAP_V * 2 * PAGE) < 0) die("munmap: %s", strerror(errno));
  return (double)(now_ns() - a) / T_MUNMAP_V;
}

/* timing: every figure is measured in each of r rounds (the rounds interleave the benchmarks,
 * so a slow period of the host spreads over all of them) and reported as the median round.
 * fork_per_vma / exit_per_vma are the per-round slopes between V1 and V2 regions and
 * fork_intercept / exit_intercept the per-round figures extrapolated to no region (process
 * creation, the runner's own VMAs, and for exit two wake-ups). */
static void sc_timing(int r) {
  enum { FORK1, FORK2, EXIT1, EXIT2, WRITE, READ, COW, SPLIT, MERGE, MUNMAP, MUNMAPR, FSLOPE,
         ESLOPE, FINT, EINT, NF };
  double *x = calloc((size_t)r * NF, sizeof *x);
  if (!x) die("out of memory");
  double dv = T_FORK_V2 - T_FORK_V1;
  /* One warm-up round, not recorded. */
  for (int k = -1; k < r; k++) {
    double f[NF];
    map_regions(T_FORK_V1, 1, 1);
    f[FORK1] = t_fork();
    f[EXIT1] = t_exit();
    unmap_regions(T_FORK_V1, 1);
    map_regions(T_FORK_V2, 1, 1);
    f[FORK2] = t_fork();
    f[EXIT2] = t_exit();
    unmap_regions(T_FORK_V2, 1);
    f[WRITE] = t_first_touch(1);
    f[READ] = t_first_touch(0);
    f[COW] = t_cow();
    map_regions(T_MPROT_V, 3, 1);
    t_mprotect(&f[SPLIT], &f[MERGE]);
    unmap_regions(T_MPROT_V, 3);
    f[MUNMAP] = t_munmap();
    f[MUNMAPR] = t_munmap_range();
    f[FSLOPE] = (f[FORK2] - f[FORK1]) / dv;
    f[ESLOPE] = (f[EXIT2] - f[EXIT1]) / dv;
    f[FINT] = f[FORK1] - f[FSLOPE] * T_FORK_V1;
    f[EINT] = f[EXIT1] - f[ESLOPE] * T_FORK_V1;
    if (k >= 0)
      for (int j = 0; j < NF; j++) x[j * r + k] = f[j];
  }
  static const char *names[NF] = {"fork_v500", "fork_v2000", "exit_v500", "exit_v2000",
                                  "fault_write_new", "fault_read_zero", "fault_cow",
                                  "mprotect_split", "mprotect_merge", "munmap_vma",
                                  "munmap_range_per_vma", "fork_per_vma", "exit_per_vma",
                                  "fork_intercept", "exit_intercept"};
  for (int j = 0; j < NF; j++) timing_line(names[j], &x[j * r], r);
  free(x);
}

static long param(int argc, char **argv, int i, long dflt, long min, long max, const char *name) {
  if (i >= argc) {
    if (dflt < 0) die("missing parameter %s", name);
    return dflt;
  }
  char *end;
  errno = 0;
  long v = strtol(argv[i], &end, 10);
  if (errno || *end || end == argv[i]) die("bad integer for %s: %s", name, argv[i]);
  if (v < min || v > max) die("%s=%ld out of range [%ld, %ld]", name, v, min, max);
  return v;
}

int main(int argc, char **argv) {
  runner_pid = getpid();
  /* Own process group so die() can kill every scenario process. */
  setpgid(0, 0);
  if (argc < 2) die("usage: runner <scenario> [params...]");
  const char *sc = argv[1];
  xpipe(release_pipe);
  xpipe(report_pipe);
  xpipe(token_pipe);
  add_proc("runner", 0, runner_pid);
  /* Warm up everything the runner itself uses (stack, /proc reads) so the
   * base READY already includes it. */
  (void)count_vmas(runner_pid);

  if (!strcmp(sc, "breadth") || !strcmp(sc, "breadth-cow") || !strcmp(sc, "breadth-unfaulted")) {
    int v = (int)param(argc, argv, 2, -1, 0, 10000, "V");
    int n = (int)param(argc, argv, 3, -1, 0, 1000, "N");
    long p = param(argc, argv, 4, 4, 1, 4096, "P");
    sc_breadth(v, n, p, !strcmp(sc, "breadth") ? B_PLAIN : !strcmp(sc, "breadth-cow") ? B_COW : B_UNFAULTED);
  } else if (!strcmp(sc, "chain") || !strcmp(sc, "chain-exit")) {
    int d = (int)param(argc, argv, 2, -1, 0, 1000, "D");
    int v = (int)param(argc, argv, 3, -1, 0, 10000, "V");
    long p = param(argc, argv, 4, 4, 1, 4096, "P");
    sc_chain(d, v, p, !strcmp(sc, "chain-exit"));
  } else if (!strcmp(sc, "mprotect") || !strcmp(sc, "mprotect-unfaulted")) {
    int v = (int)param(argc, argv, 2, 1, 1, 10000, "V");
    long p = param(argc, argv, 3, 100, 60, 4096, "P");
    sc_mprotect(v, p, !strcmp(sc, "mprotect"));
  } else if (!strcmp(sc, "mremap-faulted") || !strcmp(sc, "mremap-unfaulted")) {
    long p = param(argc, argv, 2, 10, 1, 4096, "P");
    sc_mremap(p, !strcmp(sc, "mremap-faulted"));
  } else if (!strcmp(sc, "dontunmap")) {
    long p = param(argc, argv, 2, 10, 1, 4096, "P");
    sc_dontunmap(p);
  } else if (!strcmp(sc, "forkbench")) {
    int v = (int)param(argc, argv, 2, -1, 1, 60000, "V");
    int n = (int)param(argc, argv, 3, 100, 1, 100000, "N");
    long p = param(argc, argv, 4, 1, 1, 4096, "P");
    sc_forkbench(v, n, p);
  } else if (!strcmp(sc, "timing")) {
    int r = (int)param(argc, argv, 2, 9, 1, 1000, "R");
    sc_timing(r);
  } else if (!strcmp(sc, "idle")) {
    ready("base");
    ready("mid");
    ready("end");
  } else {
    die("unknown scenario %s", sc);
  }
  out("DONE\n", 5);
  return 0;
}
