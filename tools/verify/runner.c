/*
 * runner.c: the host side of `rmapbench verify`. An interpreter of a lowered scenario (see
 * tools/verify/README.md); compiled at run time with the system `cc` into a temporary directory.
 *
 * Why an interpreter and not generated C per scenario: one compile serves every scenario and
 * every size of the suite (one `cc` call per verify run), and the lowered program is plain data
 * written by the same parser the model driver uses, so the host and the model cannot read a
 * scenario differently.
 *
 * Structure. The process started by Deno is the controller. It never maps anything in the arena
 * and never forks a scenario process other than through `spawn`. Every scenario process runs
 * the same command loop: it blocks in read() on its own command pipe, executes one command,
 * writes one acknowledgement to the shared ack pipe and blocks again. So after every step every
 * scenario process is parked in read(); the controller then measures the live object counts of
 * the anon_vma and anon_vma_chain slab caches (shrink, then read `objects`) and, at
 * `measure` steps, reads /proc/<pid>/smaps of every live scenario process.
 *
 * Copies. Every arena step is applied to K copies of the arena (copy c at base + c * stride), in
 * copy order, by the same process. Deno runs the program with K, 2K and 3K copies and keeps per
 * step only the part of the count change that grows linearly with the number of copies.
 *
 * Input (stdin, whitespace separated integers, one record per line):
 *   K <copies> <arena_base_page> <stride_pages>
 *   F <file index> <pages>                      a memfd named rmapbench-F<i>, that many pages
 *   N <process slots>
 *   O <op> <proc> <a0> <a1> <a2> <a3> <a4> <a5> <a6>
 *     Addresses are (a0 = kind: 0 arena page, 1 heap page from start_brk, a1 = page). Ops:
 *     1 spawn; 2 fork (a0 = child slot); 3 exit; 4 execve; 5 map (a2 pages, a3 prot, a4 shared,
 *     a5 = file index + 256 * file page offset or -1 for anonymous, a6: 1 MAP_FIXED, 2 MAP_STACK,
 *     4 MAP_NORESERVE, 8 MAP_POPULATE, 16 MAP_LOCKED); 6 munmap
 *     (a2 pages); 7 mprotect (a2 pages, a3 prot); 8 madvise (a2 pages, a3 advice); 9 mremap
 *     (a2 old pages, a3 new pages, a4 flags, a5 destination page); 10 brk (a1 pages above
 *     start_brk); 11 touch (a2 pages, a3 write, a4 content id or -1); 12 measure; 13 ksmd
 *     (a0 full scans); 14 mlock (a2 pages, a3: 0 mlock, 1 mlock2 MLOCK_ONFAULT, 2 munlock);
 *     15 process_madvise by proc (a0 = 0, a1 = target slot, which the controller replaces by
 *     its pid, a2 advice, a3..a6 ranges as arena page * 2^20 + pages, or -1): each copy makes one
 *     call through a pidfd of the target; the outcome is 0 when it advised every range's bytes,
 *     100000 + the pages it advised when fewer, else its errno; 16 mlockall (a1 = MCL_* flags)
 *     or, with a1 = 0, munlockall: once per process, not per copy; 17 resident (a2 pages):
 *     mincore of the range, the outcome 200000 + the resident pages, or the errno; 18 uffd
 *     (a2 pages, a3: 0 UFFDIO_REGISTER in missing mode, 1 UFFDIO_UNREGISTER) on the process's
 *     userfaultfd, opened at its first use with UFFD_FEATURE_MOVE | UFFD_FEATURE_SIGBUS (a forked
 *     child opens its own; O_CLOEXEC); 19 uffd move (a0/a1 the destination, a2 pages, a3 the
 *     source arena page, a4 mode): UFFDIO_MOVE, the outcome 0 when every byte moved, else the
 *     errno (EAGAIN when some moved); 20 uffd fill (a2 pages, a3: 0 UFFDIO_COPY from a static
 *     page-filled buffer, 1 UFFDIO_ZEROPAGE), the outcome as for 19.
 *
 * Page contents (for KSM): a write with a content id V leaves the same 16 bytes in every page of
 * one copy (a tag with V, then the copy index), so pages merge within a copy and never across
 * copies; any other write leaves a value no other page holds (a per-process counter and the pid).
 *
 * ksmd (a `ksmd N` step, controller only): the program's first such step saves run,
 * pages_to_scan, sleep_millisecs and smart_scan of /sys/kernel/mm/ksm and sets ksmd stopped,
 * pages_to_scan 1,000,000 (every wake then ends where its full scan ends: `ksm_do_scan` returns
 * when `scan_get_next_rmap_item` completes a scan), a sleep of about an hour and smart scan off
 * (the model has none); the values are restored at the end, or when the runner dies. A step makes
 * N full scans, one wake each: a change of sleep_millisecs wakes ksmd from its sleep (then
 * stopped, it waits for run), writing run=1 wakes it for exactly one scan, and each further
 * change of sleep_millisecs for one more; after the last, run=0. ksmd scans only while some mm
 * is registered, so the controller registers its own (one private page of unique content, made
 * before the first count): it adds a slot and an rmap item that do not grow with the copies,
 * which the per-copy filter leaves out. After the last step the controller unmaps the page and
 * lets ksmd scan once more, so that no slot of an exited runner stays on the host's list.
 * Output (stdout), after the whole program ran:
 *   M <step> <anon_vma> <anon_vma_chain> 1          counts after step (step -1: before step 0)
 *   R <step> <errno>                                outcome of the step (0 = success)
 *   P <step>                                        a measure step: V lines follow
 *   V <proc> <copy> <start> <end> <perms> <pgoff> <kind> <anon> <huge>   one VMA of the arena
 *        (copy >= 0, start/end in pages from the copy's base) or the heap (copy -1, pages from
 *        the process's start_brk); pgoff is the file page offset /proc/<pid>/smaps shows (0 for
 *        anonymous memory); kind is anon, shmem, F<i> or other; anon and huge are the VMA's
 *        "Anonymous:" and "AnonHugePages:" of /proc/<pid>/smaps in pages (pages of anonymous
 *        folios its page tables map, and of those mapped by PMD entries: counted by a walk,
 *        exact, unlike the mm's RSS counters)
 *   E                                               end
 *   X <message>                                     failure (exit status 1)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#define MADV_KEEPONFORK 19
#endif

#define PAGE 4096UL
#define MAX_PROCS 256
#define MAX_FILES 16
#define MAX_OPS 20000
#define HEAP_SPAN (1UL << 30) /* heap VMAs are looked for in [start_brk, start_brk + 1 GiB) */

enum {
  OP_SPAWN = 1, OP_FORK, OP_EXIT, OP_EXECVE, OP_MAP, OP_MUNMAP, OP_MPROTECT, OP_MADVISE,
  OP_MREMAP, OP_BRK, OP_TOUCH, OP_MEASURE, OP_KSMD, OP_MLOCK, OP_PMADVISE, OP_MLOCKALL,
  OP_RESIDENT, OP_UFFD, OP_UFFD_MOVE, OP_UFFD_FILL
};

struct cmd {
  int op, proc;
  long a[7];
};
struct ack {
  int kind; /* 1 = step done, 2 = hello from a new process image */
  int proc;
  int err;
  int pid;
};

static long copies, arena_page, stride_pages;
static int nfiles, file_fd[MAX_FILES], file_used[MAX_FILES];
static int nprocs;
static int cmd_fd[MAX_PROCS][2];
static int ack_fd[2];
static pid_t pids[MAX_PROCS];
static int pidfds[MAX_PROCS];
static int alive[MAX_PROCS];
static struct cmd prog[MAX_OPS];
static int nops;
static int is_controller;
static int self_idx = -1;
static unsigned long start_brk;
static char obuf[1 << 20];
static size_t olen;

static void flush_out(void) {
  size_t off = 0;
  while (off < olen) {
    ssize_t w = write(1, obuf + off, olen - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      _exit(3);
    }
    off += (size_t)w;
  }
  olen = 0;
}

__attribute__((format(printf, 1, 2))) static void emit(const char *fmt, ...) {
  if (olen > sizeof obuf - 512) flush_out();
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(obuf + olen, sizeof obuf - olen, fmt, ap);
  va_end(ap);
  if (n > 0) olen += (size_t)n;
}

static void ksm_restore(void);
static void khugepaged_restore(void);
static void journal_clear(void);

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = snprintf(buf, sizeof buf, is_controller ? "X " : "runner child %d: ", self_idx);
  n += vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof buf - 2) n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  if (is_controller) {
    ksm_restore();
    khugepaged_restore();
    journal_clear();
    olen = 0;
    (void)!write(1, buf, (size_t)n);
    for (int i = 0; i < nprocs; i++)
      if (alive[i] && pids[i] > 0) kill(pids[i], SIGKILL);
    _exit(1);
  }
  (void)!write(2, buf, (size_t)n);
  _exit(1);
}

/* ---- the settings journal (controller) -------------------------------------------------- */

/* A runner killed with SIGKILL (verify's timeout of a hung run) cannot put back ksmd's and
 * khugepaged's settings. So before it changes one it appends the original value to this journal,
 * a runner that has put its settings back removes the journal, and the next runner (under the
 * lock) first writes back whatever a killed runner left in it. */
static const char journal_path[] = "/run/rmapbench-verify.saved";

static void journal_add(const char *path, const char *value) {
  int fd = open(journal_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) die("open %s: %s", journal_path, strerror(errno));
  char line[192];
  int n = snprintf(line, sizeof line, "%s %s\n", path, value);
  if (n <= 0 || n >= (int)sizeof line || write(fd, line, (size_t)n) != n) {
    close(fd);
    die("write %s", journal_path);
  }
  close(fd);
}

/* Set once this runner holds the lock: the journal is its own from then on. */
static volatile sig_atomic_t journal_owned;

/* Removes the journal once every setting is back (async-signal-safe); only a runner holding the
 * lock may (before that, the journal may be another runner's). */
static void journal_clear(void) {
  if (journal_owned) (void)unlink(journal_path);
}

/* Writes back the settings a killed runner left in the journal ("<path> <value>" lines). */
static void journal_replay(void) {
  char buf[4096];
  int fd = open(journal_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return;
  ssize_t r = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[r > 0 ? r : 0] = 0;
  for (char *line = buf; *line;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = 0;
    char *sp = strrchr(line, ' ');
    if (sp && !strncmp(line, "/sys/kernel/mm/", 15)) {
      *sp = 0;
      int w = open(line, O_WRONLY | O_CLOEXEC);
      if (w >= 0) {
        (void)!write(w, sp + 1, strlen(sp + 1));
        close(w);
      }
    }
    if (!nl) break;
    line = nl + 1;
  }
  (void)unlink(journal_path);
}

/* ---- slab counters (controller) ---------------------------------------------------------- */

static long read_sysfs_long(const char *path) {
  char buf[128];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open %s: %s", path, strerror(errno));
  ssize_t r = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (r <= 0) die("read %s", path);
  buf[r] = 0;
  return strtol(buf, NULL, 10);
}

static long read_objects(const char *cache) {
  char path[128];
  snprintf(path, sizeof path, "/sys/kernel/slab/%s/objects", cache);
  return read_sysfs_long(path);
}

static void shrink(const char *cache) {
  char path[128];
  snprintf(path, sizeof path, "/sys/kernel/slab/%s/shrink", cache);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open %s: %s", path, strerror(errno));
  if (write(fd, "1", 1) != 1) die("write %s: %s", path, strerror(errno));
  close(fd);
}

/* Shrink and read both caches once. One pass keeps the window between two measurements short
 * (the step itself plus two shrinks); Deno discards windows that other processes disturbed. */
static void measure_counts(int step) {
  shrink("anon_vma");
  long av = read_objects("anon_vma");
  shrink("anon_vma_chain");
  long avc = read_objects("anon_vma_chain");
  emit("M %d %ld %ld 1\n", step, av, avc);
}

/* ---- ksmd (controller) ------------------------------------------------------------------- */

static const char *const ksm_knobs[] = {"run", "pages_to_scan", "sleep_millisecs", "smart_scan"};
#define KSM_KNOBS 4
static char ksm_saved[KSM_KNOBS][32];
static char ksm_paths[KSM_KNOBS][96];
static int ksm_was_set;
static long ksm_sleep_ms = 3600000;

static long ksm_read(const char *knob) {
  char path[96];
  snprintf(path, sizeof path, "/sys/kernel/mm/ksm/%s", knob);
  return read_sysfs_long(path);
}

static void ksm_write(const char *knob, const char *v) {
  char path[96];
  snprintf(path, sizeof path, "/sys/kernel/mm/ksm/%s", knob);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, v, strlen(v)) != (ssize_t)strlen(v)) {
    int e = errno;
    if (fd >= 0) close(fd);
    ksm_was_set = 0; /* no restore from die() for a knob that could not be written */
    die("write %s to %s: %s", v, path, strerror(e));
  }
  close(fd);
}

/* Writes the saved settings back: open, write and close only, so that a signal handler may call
 * it (the paths are made at setup). */
static void ksm_restore(void) {
  if (!ksm_was_set) return;
  ksm_was_set = 0;
  for (int i = KSM_KNOBS - 1; i >= 0; i--) {
    if (!ksm_saved[i][0]) continue; /* a knob this kernel does not have */
    int fd = open(ksm_paths[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0) continue;
    (void)!write(fd, ksm_saved[i], strlen(ksm_saved[i]));
    close(fd);
  }
}

/* SIGINT, SIGTERM, SIGHUP (an interrupted `deno task verify`): restore ksmd's and khugepaged's
 * settings, then die of the signal as before. */
static void knobs_on_signal(int sig) {
  ksm_restore();
  khugepaged_restore();
  journal_clear();
  signal(sig, SIG_DFL);
  raise(sig);
}

/* Installs knobs_on_signal for SIGINT, SIGTERM and SIGHUP (once a knob is saved). */
static void knobs_restore_on_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = knobs_on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
}

static void ksm_setup(void) {
  if (access("/sys/kernel/mm/ksm/run", F_OK) < 0) die("no /sys/kernel/mm/ksm: a kernel without KSM");
  for (int i = 0; i < KSM_KNOBS; i++) {
    snprintf(ksm_paths[i], sizeof ksm_paths[i], "/sys/kernel/mm/ksm/%s", ksm_knobs[i]);
    /* smart_scan is new in Linux 6.7: an older kernel has no smart scan to turn off. */
    if (access(ksm_paths[i], F_OK) < 0) ksm_saved[i][0] = 0;
    else snprintf(ksm_saved[i], sizeof ksm_saved[i], "%ld", ksm_read(ksm_knobs[i]));
  }
  for (int i = 0; i < KSM_KNOBS; i++) {
    if (ksm_saved[i][0]) journal_add(ksm_paths[i], ksm_saved[i]);
  }
  knobs_restore_on_signals();
  ksm_write("run", "0");
  ksm_was_set = 1;
  if (ksm_saved[3][0]) ksm_write("smart_scan", "0");
  ksm_write("pages_to_scan", "1000000");
  ksm_write("sleep_millisecs", "3600000");
}

/* A change of sleep_millisecs: wakes ksmd from its timed sleep (ksm_iter_wait). */
static void ksm_kick(void) {
  char v[32];
  ksm_sleep_ms = ksm_sleep_ms == 3600000 ? 3600001 : 3600000;
  snprintf(v, sizeof v, "%ld", ksm_sleep_ms);
  ksm_write("sleep_millisecs", v);
}

static void ksmd_scans(long n) {
  for (long i = 0; i < n; i++) {
    long target = ksm_read("full_scans") + 1;
    ksm_kick();
    if (i == 0) ksm_write("run", "1");
    for (int waited = 0; ksm_read("full_scans") < target; waited++) {
      if (waited > 50000) die("ksmd made no full scan in 10 s");
      usleep(200);
    }
  }
  ksm_write("run", "0");
}

static char *ksm_page;

/* The controller's registered mm (see the header): set up before the first count. */
static void ksm_controller_enter(void) {
  ksm_setup();
  ksm_page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ksm_page == MAP_FAILED) die("mmap: %s", strerror(errno));
  ((volatile unsigned long long *)ksm_page)[0] = 0x6300000000000000ULL | (unsigned long long)getpid();
  if (madvise(ksm_page, PAGE, MADV_MERGEABLE) < 0) die("MADV_MERGEABLE: %s", strerror(errno));
}

static void ksm_controller_leave(void) {
  if (munmap(ksm_page, PAGE) < 0) die("munmap: %s", strerror(errno));
  ksmd_scans(1);
  ksm_restore();
}

/* ---- khugepaged (controller) ------------------------------------------------------------ */

/* khugepaged collapses the small pages of a 2 MiB range inside a MADV_HUGEPAGE VMA into a THP in
 * the background, at a moment no step chooses; the model has no khugepaged. With the default
 * max_ptes_none of 511 one page present in the range is enough, and on this host it collapses
 * such a range within a millisecond of the MADV_HUGEPAGE (it is woken at once; a long
 * scan_sleep_millisecs did not keep it away). So the controller saves max_ptes_none and sets 0:
 * khugepaged then collapses only a range whose 512 pages are all present (a populated range
 * that a page table already covered, which a scenario can still reach: then the copies or the
 * runs disagree and verify says host-unstable). The value is restored at the end, or when the
 * runner dies. */
static const char khugepaged_path[] =
    "/sys/kernel/mm/transparent_hugepage/khugepaged/max_ptes_none";
static char khugepaged_saved[32];

static void khugepaged_restore(void) {
  if (!khugepaged_saved[0]) return;
  int fd = open(khugepaged_path, O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    (void)!write(fd, khugepaged_saved, strlen(khugepaged_saved));
    close(fd);
  }
  khugepaged_saved[0] = 0;
}

static void khugepaged_quiet(void) {
  if (access(khugepaged_path, F_OK) < 0) return; /* a kernel without THP */
  char v[32];
  snprintf(v, sizeof v, "%ld", read_sysfs_long(khugepaged_path));
  int fd = open(khugepaged_path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open %s: %s", khugepaged_path, strerror(errno));
  journal_add(khugepaged_path, v);
  memcpy(khugepaged_saved, v, sizeof v); /* restored from here on, also by die() */
  knobs_restore_on_signals();
  if (write(fd, "0", 1) != 1) {
    int e = errno;
    close(fd);
    khugepaged_saved[0] = 0;
    die("write %s: %s", khugepaged_path, strerror(e));
  }
  close(fd);
}

/* ---- layout (controller) ----------------------------------------------------------------- */

static unsigned long proc_start_brk(pid_t pid) {
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open %s: %s", path, strerror(errno));
  ssize_t r = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (r <= 0) die("read %s", path);
  buf[r] = 0;
  char *p = strrchr(buf, ')');
  if (!p) die("bad %s", path);
  /* Field 3 (state) follows ") "; start_brk is field 47. */
  p += 2;
  for (int field = 3; field < 47; field++) {
    p = strchr(p, ' ');
    if (!p) die("short %s", path);
    p++;
  }
  return strtoul(p, NULL, 10);
}

static const char *kind_of(const char *path) {
  static char k[16];
  while (*path == ' ') path++;
  if (!*path || !strcmp(path, "[heap]")) return "anon";
  if (!strncmp(path, "/dev/zero", 9)) return "shmem";
  const char *m = strstr(path, "rmapbench-F");
  if (m) {
    int i = atoi(m + 11);
    snprintf(k, sizeof k, "F%d", i);
    return k;
  }
  return "other";
}

static char mapsbuf[1 << 24];

/* The "Anonymous:" and "AnonHugePages:" fields (kB) of the smaps entry whose header line ends at
 * `from`, in pages: "<anon> <huge>" in `out`. */
static void smaps_anonymous(const char *from, char *out, size_t n) {
  long anon = -1, huge = -1;
  for (const char *p = from; *p && (anon < 0 || huge < 0);) {
    unsigned long a, b;
    if (sscanf(p, "%lx-%lx ", &a, &b) == 2) break; /* the next entry's header */
    long kb;
    if (sscanf(p, "Anonymous: %ld kB", &kb) == 1) anon = kb * 1024 / PAGE;
    if (sscanf(p, "AnonHugePages: %ld kB", &kb) == 1) huge = kb * 1024 / PAGE;
    p = strchr(p, '\n');
    if (!p) break;
    p++;
  }
  if (anon < 0 || huge < 0) die("no Anonymous: or AnonHugePages: field in an smaps entry");
  snprintf(out, n, "%ld %ld", anon, huge);
}

/* The arena and heap VMAs of scenario process `proc` from /proc/<pid>/smaps (maps' lines, each
 * followed by its figures), as V lines. */
static void dump_layout(int proc) {
  pid_t pid = pids[proc];
  unsigned long sb = proc_start_brk(pid);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/smaps", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open %s: %s", path, strerror(errno));
  size_t len = 0;
  for (;;) {
    ssize_t r = read(fd, mapsbuf + len, sizeof mapsbuf - 1 - len);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("read %s: %s", path, strerror(errno));
    }
    if (r == 0) break;
    len += (size_t)r;
    if (len >= sizeof mapsbuf - 1) die("%s too large", path);
  }
  close(fd);
  mapsbuf[len] = 0;
  unsigned long a0 = arena_page * PAGE, a1 = a0 + (unsigned long)copies * stride_pages * PAGE;
  for (char *line = mapsbuf; *line;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = 0;
    unsigned long s, e, off;
    char perms[8];
    int consumed = 0;
    if (sscanf(line, "%lx-%lx %7s %lx %*s %*s%n", &s, &e, perms, &off, &consumed) >= 4) {
      const char *kind = kind_of(line + consumed);
      unsigned long pg = off / PAGE;
      long npg = (long)pg; /* smaps shows 0 for anonymous VMAs */
      if (s >= a0 && e <= a1) {
        long c = (long)((s - a0) / (stride_pages * PAGE));
        unsigned long cb = a0 + (unsigned long)c * stride_pages * PAGE;
        char anon[48];
        smaps_anonymous(nl ? nl + 1 : "", anon, sizeof anon);
        emit("V %d %ld %ld %ld %s %ld %s %s\n", proc, c, (long)((s - cb) / PAGE),
             (long)((e - cb) / PAGE), perms, npg, kind, anon);
      } else if (sb && s >= sb && e <= sb + HEAP_SPAN) {
        char anon[48];
        smaps_anonymous(nl ? nl + 1 : "", anon, sizeof anon);
        emit("V %d -1 %ld %ld %s %ld %s %s\n", proc, (long)((s - sb) / PAGE),
             (long)((e - sb) / PAGE), perms, npg, kind, anon);
      }
    }
    if (!nl) break;
    line = nl + 1;
  }
}

/* ---- scenario process side --------------------------------------------------------------- */

static sigjmp_buf fault_jmp;
static volatile sig_atomic_t in_touch;

static void on_segv(int sig) {
  (void)sig;
  if (in_touch) siglongjmp(fault_jmp, 1);
  _exit(4);
}

static unsigned long self_start_brk(void) { return proc_start_brk(getpid()); }

static unsigned long addr_of(long kind, long off, long c) {
  if (kind == 1) return start_brk + (unsigned long)off * PAGE;
  return (arena_page + (unsigned long)c * stride_pages + (unsigned long)off) * PAGE;
}

static void send_ack(int kind, int err) {
  struct ack a = {kind, self_idx, err, (int)getpid()};
  if (write(ack_fd[1], &a, sizeof a) != (ssize_t)sizeof a) die("ack: %s", strerror(errno));
}

static int prot_of(long p) { return (int)p; }

/* Touches n pages from addr (one byte each); EFAULT if the access faults (SIGSEGV/SIGBUS). */
static unsigned long long unique_writes;

static int touch_range(unsigned long addr, long n, int write_access, long value, long copy) {
  volatile char *b = (volatile char *)addr;
  volatile long i = 0;
  in_touch = 1;
  if (sigsetjmp(fault_jmp, 1) != 0) {
    in_touch = 0;
    return EFAULT;
  }
  for (i = 0; i < n; i++) {
    volatile unsigned long long *w = (volatile unsigned long long *)(b + (size_t)i * PAGE);
    if (!write_access) (void)b[(size_t)i * PAGE];
    else if (value >= 0) {
      w[0] = 0x6b736d0000000000ULL | (unsigned long long)value;
      w[1] = (unsigned long long)copy;
    } else {
      w[0] = ++unique_writes;
      w[1] = 0x7500000000000000ULL | (unsigned long long)getpid();
    }
  }
  in_touch = 0;
  return 0;
}

/* userfaultfd: Debian 12's 6.1 headers lack UFFDIO_MOVE (Linux 6.8), so its uapi is spelt here. */
#define RB_UFFD_FEATURE_MOVE (1ULL << 16)
struct rb_uffdio_move {
  uint64_t dst, src, len, mode;
  int64_t move;
};
#define RB_UFFDIO_MOVE _IOWR(UFFDIO, 0x05, struct rb_uffdio_move)

/* The source of UFFDIO_COPY steps: any bytes will do (verify compares no contents). */
static char fill_src[64 * 4096];

/* The process's userfaultfd (-1 until its first uffd step; a forked child resets it). */
static int uffd_fd = -1;

static int uffd_get(void) {
  if (uffd_fd >= 0) return uffd_fd;
  int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
  if (fd < 0) die("userfaultfd: %s", strerror(errno));
  struct uffdio_api api = {.api = UFFD_API, .features = RB_UFFD_FEATURE_MOVE | UFFD_FEATURE_SIGBUS};
  if (ioctl(fd, UFFDIO_API, &api) < 0) die("UFFDIO_API: %s", strerror(errno));
  return uffd_fd = fd;
}

/* One step in the scenario process: the first copy's errno is the result; copies must agree. */
static int run_step(const struct cmd *c) {
  long ncop = (c->op == OP_BRK || c->op == OP_MLOCKALL || c->a[0] == 1) ? 1 : copies;
  int first = -1;
  for (long k = 0; k < ncop; k++) {
    int err = 0;
    unsigned long addr = addr_of(c->a[0], c->a[1], k);
    size_t len = (size_t)c->a[2] * PAGE;
    switch (c->op) {
      case OP_MAP: {
        int flags = (c->a[4] ? MAP_SHARED : MAP_PRIVATE) |
                    ((c->a[6] & 1) ? MAP_FIXED : MAP_FIXED_NOREPLACE) |
                    ((c->a[6] & 2) ? MAP_STACK : 0) | ((c->a[6] & 4) ? MAP_NORESERVE : 0) |
                    ((c->a[6] & 8) ? MAP_POPULATE : 0) | ((c->a[6] & 16) ? MAP_LOCKED : 0);
        int fd = -1;
        off_t foff = 0;
        if (c->a[5] >= 0) {
          fd = file_fd[c->a[5] & 0xff];
          foff = (off_t)((c->a[5] >> 8) * (long)PAGE);
        } else {
          flags |= MAP_ANONYMOUS;
        }
        void *p = mmap((void *)addr, len, prot_of(c->a[3]), flags, fd, foff);
        if (p == MAP_FAILED) err = errno;
        else if ((unsigned long)p != addr) die("mmap landed at %p, not %#lx", p, addr);
        break;
      }
      case OP_MUNMAP:
        if (munmap((void *)addr, len) < 0) err = errno;
        break;
      case OP_MPROTECT:
        if (mprotect((void *)addr, len, prot_of(c->a[3])) < 0) err = errno;
        break;
      case OP_MADVISE:
        if (madvise((void *)addr, len, (int)c->a[3]) < 0) err = errno;
        break;
      case OP_MLOCK: {
        int r = c->a[3] == 2   ? munlock((void *)addr, len)
                : c->a[3] == 1 ? mlock2((void *)addr, len, MLOCK_ONFAULT)
                               : mlock((void *)addr, len);
        if (r < 0) err = errno;
        break;
      }
      case OP_MREMAP: {
        size_t nlen = (size_t)c->a[3] * PAGE;
        int flags = (int)c->a[4];
        void *to = (void *)addr_of(c->a[0], c->a[5], k);
        void *p = (flags & MREMAP_FIXED) ? mremap((void *)addr, len, nlen, flags, to)
                                         : mremap((void *)addr, len, nlen, flags);
        if (p == MAP_FAILED) err = errno;
        break;
      }
      case OP_BRK: {
        unsigned long want = start_brk + (unsigned long)c->a[1] * PAGE;
        unsigned long got = (unsigned long)syscall(SYS_brk, want);
        if (got != want) err = ENOMEM;
        break;
      }
      case OP_TOUCH:
        err = touch_range(addr, c->a[2], (int)c->a[3], c->a[4], k);
        break;
      case OP_MLOCKALL:
        if ((c->a[1] ? mlockall((int)c->a[1]) : munlockall()) < 0) err = errno;
        break;
      case OP_RESIDENT: {
        /* mincore(2): the pages of the range resident in memory (a mapped page, a page-cache
         * page of a file mapping, a swap-cache page); 200000 + the count, or the errno. */
        unsigned char vec[4096];
        long n = c->a[2];
        if (n > (long)sizeof vec) die("resident: %ld pages is over %zu", n, sizeof vec);
        if (mincore((void *)addr, (size_t)n * PAGE, vec) < 0) err = errno;
        else {
          int in = 0;
          for (long j = 0; j < n; j++) in += vec[j] & 1;
          err = 200000 + in;
        }
        break;
      }
      case OP_UFFD: {
        if (c->a[3] == 0) {
          struct uffdio_register r = {.range = {addr, len}, .mode = UFFDIO_REGISTER_MODE_MISSING};
          if (ioctl(uffd_get(), UFFDIO_REGISTER, &r) < 0) err = errno;
        } else {
          struct uffdio_range r = {addr, len};
          if (ioctl(uffd_get(), UFFDIO_UNREGISTER, &r) < 0) err = errno;
        }
        break;
      }
      case OP_UFFD_FILL: {
        if (c->a[3] == 0) {
          if (len > sizeof fill_src) die("uffd copy of %zu bytes", len);
          struct uffdio_copy u = {addr, (uint64_t)(uintptr_t)fill_src, len, 0, 0};
          if (ioctl(uffd_get(), UFFDIO_COPY, &u) < 0) err = errno;
        } else {
          struct uffdio_zeropage z = {{addr, len}, 0, 0};
          if (ioctl(uffd_get(), UFFDIO_ZEROPAGE, &z) < 0) err = errno;
        }
        break;
      }
      case OP_UFFD_MOVE: {
        struct rb_uffdio_move m = {addr, addr_of(0, c->a[3], k), len, (uint64_t)c->a[4], 0};
        if (ioctl(uffd_get(), RB_UFFDIO_MOVE, &m) < 0) err = errno;
        break;
      }
      case OP_PMADVISE: {
        struct iovec iov[4];
        int n = 0;
        long total = 0;
        for (int i = 3; i < 7 && c->a[i] >= 0; i++, n++) {
          long page = c->a[i] >> 20, pages = c->a[i] & ((1L << 20) - 1);
          iov[n].iov_base = (void *)addr_of(0, page, k);
          iov[n].iov_len = (size_t)pages * PAGE;
          total += pages * (long)PAGE;
        }
        int fd = (int)syscall(SYS_pidfd_open, (pid_t)c->a[1], 0);
        if (fd < 0) die("pidfd_open(%ld): %s", c->a[1], strerror(errno));
        long r = syscall(SYS_process_madvise, fd, iov, (size_t)n, (int)c->a[2], 0U);
        if (r < 0) err = errno;
        else if (r != total) err = 100000 + (int)(r / (long)PAGE);
        close(fd);
        break;
      }
      default:
        die("bad op %d", c->op);
    }
    if (first < 0) first = err;
    else if (first != err) die("step op %d: copy %ld gave errno %d, copy 0 gave %d", c->op, k, err, first);
  }
  return first < 0 ? 0 : first;
}

static void setup_child(int idx);

__attribute__((noreturn)) static void child_loop(void) {
  for (;;) {
    struct cmd c;
    ssize_t r;
    while ((r = read(cmd_fd[self_idx][0], &c, sizeof c)) < 0 && errno == EINTR) {
    }
    if (r == 0) _exit(0); /* controller gone */
    if (r != (ssize_t)sizeof c) die("short command");
    switch (c.op) {
      case OP_EXIT:
        _exit(0);
      case OP_FORK: {
        pid_t p = fork();
        if (p < 0) {
          send_ack(1, errno);
          break;
        }
        if (p == 0) {
          setup_child((int)c.a[0]);
          send_ack(2, 0);
          child_loop();
        }
        send_ack(1, 0);
        break;
      }
      case OP_EXECVE: {
        char idx[16], fdinfo[64];
        snprintf(idx, sizeof idx, "%d", self_idx);
        snprintf(fdinfo, sizeof fdinfo, "%ld:%ld:%ld", copies, arena_page, stride_pages);
        char *argv[] = {"rmapbench-verify-runner", "--child", idx, fdinfo, NULL};
        execv("/proc/self/exe", argv);
        send_ack(1, errno);
        break;
      }
      default:
        send_ack(1, run_step(&c));
    }
  }
}

static void setup_child(int idx) {
  is_controller = 0;
  self_idx = idx;
  if (uffd_fd >= 0) close(uffd_fd); /* the parent's context: a child opens its own */
  uffd_fd = -1;
  /* Only the controller writes commands and reads acknowledgements: with these ends closed here,
   * every scenario process sees end-of-file and exits if the controller dies. */
  for (int i = 0; i < MAX_PROCS; i++) close(6 + 2 * i);
  close(3);
  start_brk = self_start_brk();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_segv;
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
}

/* ---- controller ---------------------------------------------------------------------------- */

static struct ack read_ack(void) {
  struct ack a;
  ssize_t r;
  /* Every process holds the ack pipe's write end, so a scenario process that died (say, on copies
   * that disagree) gives no end of file: without an answer for a second, a live process that is
   * gone (reaped at once: SIGCHLD is ignored) ends the run now, not at verify's timeout. */
  for (;;) {
    struct pollfd pf = {.fd = ack_fd[0], .events = POLLIN};
    int n = poll(&pf, 1, 1000);
    if (n > 0) break;
    if (n < 0 && errno != EINTR) die("poll: %s", strerror(errno));
    for (int i = 0; i < nprocs; i++) {
      if (alive[i] && pids[i] > 0 && kill(pids[i], 0) < 0 && errno == ESRCH) {
        die("scenario process %d died", i);
      }
    }
  }
  while ((r = read(ack_fd[0], &a, sizeof a)) < 0 && errno == EINTR) {
  }
  if (r != (ssize_t)sizeof a) die("a scenario process died (ack pipe r=%zd)", r);
  return a;
}

static void send_cmd(int proc, const struct cmd *c) {
  if (write(cmd_fd[proc][1], c, sizeof *c) != (ssize_t)sizeof *c) die("command: %s", strerror(errno));
}

static void open_pidfd(int proc) {
  int fd = (int)syscall(SYS_pidfd_open, pids[proc], 0);
  if (fd < 0) die("pidfd_open: %s", strerror(errno));
  pidfds[proc] = fd;
}

static void wait_gone(int proc) {
  struct pollfd p = {pidfds[proc], POLLIN, 0};
  for (;;) {
    int r = poll(&p, 1, 10000);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) die("process %d did not exit", proc);
    break;
  }
  close(pidfds[proc]);
  pidfds[proc] = -1;
}

static int hello_from(int proc) {
  struct ack a = read_ack();
  if (a.kind != 2 || a.proc != proc) die("expected hello of %d, got kind %d from %d", proc, a.kind, a.proc);
  pids[proc] = a.pid;
  return a.pid;
}

static int controller_step(int i) {
  struct cmd *c = &prog[i];
  int p = c->proc;
  if (p < 0 || p >= nprocs) die("bad process %d", p);
  switch (c->op) {
    case OP_SPAWN: {
      pid_t pid = fork();
      if (pid < 0) die("fork: %s", strerror(errno));
      if (pid == 0) {
        setup_child(p);
        send_ack(2, 0);
        child_loop();
      }
      hello_from(p);
      open_pidfd(p);
      alive[p] = 1;
      return 0;
    }
    case OP_FORK: {
      int q = (int)c->a[0];
      send_cmd(p, c);
      int err = -1, got_hello = 0;
      for (int n = 0; n < 2; n++) {
        struct ack a = read_ack();
        if (a.kind == 1) {
          err = a.err;
          if (err) break;
        } else if (a.kind == 2 && a.proc == q) {
          pids[q] = a.pid;
          got_hello = 1;
        } else {
          die("unexpected ack during fork");
        }
      }
      if (err) return err;
      if (!got_hello) die("fork: no hello from the child");
      open_pidfd(q);
      alive[q] = 1;
      return 0;
    }
    case OP_EXIT:
      send_cmd(p, c);
      wait_gone(p);
      alive[p] = 0;
      return 0;
    case OP_EXECVE: {
      send_cmd(p, c);
      struct ack a = read_ack();
      if (a.kind == 1) return a.err; /* execv failed */
      if (a.kind != 2 || a.proc != p) die("execve: unexpected ack");
      return 0;
    }
    case OP_KSMD:
      ksmd_scans(c->a[0]);
      return 0;
    case OP_MEASURE:
      emit("P %d\n", i);
      for (int q = 0; q < nprocs; q++)
        if (alive[q]) dump_layout(q);
      return 0;
    case OP_PMADVISE: {
      struct cmd d = *c;
      int q = (int)c->a[1];
      if (q < 0 || q >= nprocs || !alive[q]) die("pmadvise: bad target %d", q);
      d.a[1] = pids[q];
      send_cmd(p, &d);
      struct ack a = read_ack();
      if (a.kind != 1 || a.proc != p) die("unexpected ack");
      return a.err;
    }
    default: {
      send_cmd(p, c);
      struct ack a = read_ack();
      if (a.kind != 1 || a.proc != p) die("unexpected ack");
      return a.err;
    }
  }
}

static void read_program(void) {
  static char in[1 << 22];
  size_t len = 0;
  for (;;) {
    ssize_t r = read(0, in + len, sizeof in - 1 - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("read stdin: %s", strerror(errno));
    if (r == 0) break;
    len += (size_t)r;
    if (len >= sizeof in - 1) die("program too large");
  }
  in[len] = 0;
  char *save = NULL;
  for (char *line = strtok_r(in, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    long v[10];
    int n = 0;
    char tag = line[0];
    char *p = line + 1;
    while (n < 10) {
      char *end;
      long x = strtol(p, &end, 10);
      if (end == p) break;
      v[n++] = x;
      p = end;
    }
    if (tag == 'K' && n == 3) {
      copies = v[0];
      arena_page = v[1];
      stride_pages = v[2];
    } else if (tag == 'F' && n == 2) {
      if (v[0] < 0 || v[0] >= MAX_FILES) die("bad file index");
      char name[32];
      snprintf(name, sizeof name, "rmapbench-F%ld", v[0]);
      int fd = (int)syscall(SYS_memfd_create, name, 0);
      if (fd < 0) die("memfd_create: %s", strerror(errno));
      if (ftruncate(fd, (off_t)(v[1] * (long)PAGE)) < 0) die("ftruncate: %s", strerror(errno));
      file_fd[v[0]] = fd;
      file_used[v[0]] = 1;
      if (v[0] >= nfiles) nfiles = (int)v[0] + 1;
    } else if (tag == 'N' && n == 1) {
      if (v[0] < 1 || v[0] > MAX_PROCS) die("bad process count");
      nprocs = (int)v[0];
    } else if (tag == 'O' && n == 9) {
      if (nops >= MAX_OPS) die("too many steps");
      struct cmd *c = &prog[nops++];
      c->op = (int)v[0];
      c->proc = (int)v[1];
      for (int k = 0; k < 7; k++) c->a[k] = v[2 + k];
    } else {
      die("bad program line: %.40s", line);
    }
  }
  if (copies < 1 || stride_pages < 1 || nprocs < 1) die("program header missing");
}

int main(int argc, char **argv) {
  if (argc >= 4 && !strcmp(argv[1], "--child")) {
    /* A scenario process after execve: the pipes were inherited (no O_CLOEXEC). */
    int idx = atoi(argv[2]);
    if (sscanf(argv[3], "%ld:%ld:%ld", &copies, &arena_page, &stride_pages) != 3) _exit(5);
    /* Same descriptor layout as the controller set up: see below. */
    ack_fd[0] = 3;
    ack_fd[1] = 4;
    nprocs = MAX_PROCS;
    for (int i = 0; i < MAX_PROCS; i++) {
      cmd_fd[i][0] = 5 + 2 * i;
      cmd_fd[i][1] = 6 + 2 * i;
    }
    for (int i = 0; i < MAX_FILES; i++) file_fd[i] = 5 + 2 * MAX_PROCS + i;
    setup_child(idx);
    send_ack(2, 0);
    child_loop();
  }
  is_controller = 1;
  read_program();
  /* Fixed descriptor numbers so an exec'd scenario process finds its pipes: ack 3/4, command
   * pipes from 5, files after them. The memfds are moved out of the way first. */
  const int high = 5 + 2 * MAX_PROCS + 2 * MAX_FILES;
  int files_tmp[MAX_FILES];
  for (int i = 0; i < nfiles; i++) {
    if (!file_used[i]) continue;
    files_tmp[i] = fcntl(file_fd[i], F_DUPFD_CLOEXEC, high);
    if (files_tmp[i] < 0) die("fcntl: %s", strerror(errno));
    close(file_fd[i]);
  }
  int p[2];
  for (int i = -1; i < nprocs; i++) {
    if (pipe(p) < 0) die("pipe: %s", strerror(errno));
    int r0 = fcntl(p[0], F_DUPFD, high + MAX_FILES);
    int r1 = fcntl(p[1], F_DUPFD, high + MAX_FILES);
    if (r0 < 0 || r1 < 0) die("fcntl: %s", strerror(errno));
    close(p[0]);
    close(p[1]);
    int t0 = i < 0 ? 3 : 5 + 2 * i;
    if (dup2(r0, t0) < 0 || dup2(r1, t0 + 1) < 0) die("dup2: %s", strerror(errno));
    close(r0);
    close(r1);
    if (i < 0) {
      ack_fd[0] = 3;
      ack_fd[1] = 4;
    } else {
      cmd_fd[i][0] = t0;
      cmd_fd[i][1] = t0 + 1;
    }
  }
  for (int i = 0; i < nfiles; i++) {
    if (!file_used[i]) continue;
    int fd = 5 + 2 * MAX_PROCS + i;
    if (dup2(files_tmp[i], fd) < 0) die("dup2: %s", strerror(errno));
    close(files_tmp[i]);
    file_fd[i] = fd;
  }
  for (int i = 0; i < MAX_PROCS; i++) pidfds[i] = -1;
  /* Orphans are re-parented to us; SIGCHLD ignored = exited processes are reaped at once. */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) die("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
  /* One runner at a time on this machine: two at once would each save the other's ksmd and
   * khugepaged settings as the ones to restore, and leave the host changed (it happened, with two
   * `verify` commands started side by side), and their slab counts would mix. A second runner
   * waits here until the first has exited (the lock goes with its last descriptor). Taken after
   * the descriptors 3 and up are laid out, whose dup2 calls would close it. */
  const char *lock_path = "/run/rmapbench-verify.lock";
  int lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (lock_fd < 0) die("open %s: %s", lock_path, strerror(errno));
  while (flock(lock_fd, LOCK_EX) < 0) {
    if (errno != EINTR) die("flock %s: %s", lock_path, strerror(errno));
  }
  journal_owned = 1;
  journal_replay();
  signal(SIGCHLD, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  /* Shorten every measurement window on a busy host: the controller and the scenario processes
   * (which inherit the policy) run SCHED_FIFO at the lowest real-time priority, so a parked
   * process runs as soon as it is told to. They block between steps and the whole program takes
   * milliseconds; the kernel's real-time throttling still bounds them. Without the capability,
   * nice -20; without that, as is. */
  struct sched_param sp = {.sched_priority = 1};
  if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) (void)!setpriority(PRIO_PROCESS, 0, -20);
  int uses_ksm = 0;
  for (int i = 0; i < nops; i++) uses_ksm |= prog[i].op == OP_KSMD;
  khugepaged_quiet();
  if (uses_ksm) ksm_controller_enter();
  measure_counts(-1);
  measure_counts(-1); /* the first pass warms the measuring path; Deno uses the last M -1 */
  for (int i = 0; i < nops; i++) {
    int err = controller_step(i);
    emit("R %d %d\n", i, err);
    if (prog[i].op != OP_MEASURE) measure_counts(i);
  }
  for (int q = 0; q < nprocs; q++)
    if (alive[q]) die("process %d still alive at the end of the program", q);
  if (uses_ksm) ksm_controller_leave();
  khugepaged_restore();
  journal_clear();
  emit("E\n");
  flush_out();
  return 0;
}
