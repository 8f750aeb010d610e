#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
/* fork storm: R regions of P pages written; ROUNDS x (fork K children that block on a pipe,
   then release them all; they exit). */
int main(int argc, char **argv) {
  int R = argc > 1 ? atoi(argv[1]) : 8, K = argc > 2 ? atoi(argv[2]) : 32;
  int ROUNDS = argc > 3 ? atoi(argv[3]) : 50, P = 32;
  for (int r = 0; r < R; r++) {
    char *p = mmap(NULL, (size_t)P * 4096 * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(p + (size_t)P * 4096, (size_t)P * 4096, PROT_READ); /* keep regions distinct VMAs */
    memset(p, 1, (size_t)P * 4096);
  }
  for (int round = 0; round < ROUNDS; round++) {
    int fd[2];
    if (pipe(fd)) return 1;
    for (int k = 0; k < K; k++) {
      pid_t c = fork();
      if (c == 0) { char b; close(fd[1]); (void)!read(fd[0], &b, 1); _exit(0); }
    }
    close(fd[0]); close(fd[1]);
    while (wait(NULL) > 0) {}
  }
  return 0;
}
