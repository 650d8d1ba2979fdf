/* pause.c - the CRI sandbox's init for tests/engines/cri.bats: holds the
 * pod's namespaces, reaps orphans (it is pid 1 of a shared pid namespace)
 * and exits 0 on SIGINT/SIGTERM, like Kubernetes' pause. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int sig) {
  (void)sig;
  _exit(0);
}

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0)
    ;
}

int main(void) {
  struct sigaction q = {.sa_handler = quit}, r = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
  if (sigaction(SIGINT, &q, NULL) < 0 || sigaction(SIGTERM, &q, NULL) < 0 || sigaction(SIGCHLD, &r, NULL) < 0)
    return 2;
  for (;;)
    pause();
}
