/* selfexe.c - CVE-2019-5736: a container must not be able to overwrite the
 * runtime binary through /proc/<pid>/exe.  Before any command that enters a
 * container, cell re-executes itself from a sealed memfd copy, so the exe a
 * container process could reach is an immutable anonymous file. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "runtime/container.h"

extern char **environ;

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

static const int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

int cell_protect_self_exe(char **argv, struct cell_err *err) {
  int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0) return cell_error(err, errno, "open /proc/self/exe");
  int have = fcntl(self, F_GET_SEALS);
  if (have >= 0 && (have & seals) == seals) {
    close(self);
    return 0; /* already running from the sealed copy */
  }
  struct stat sb;
  if (fstat(self, &sb) < 0) {
    int e = errno;
    close(self);
    return cell_error(err, e, "stat /proc/self/exe");
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int mfd = memfd_create("cell", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0) {
    int e = errno;
    close(self);
    return cell_error(err, e, "memfd_create for the sealed runtime copy");
  }
  off_t off = 0;
  while (off < sb.st_size) {
    ssize_t n = sendfile(mfd, self, &off, (size_t)(sb.st_size - off));
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      close(self);
      close(mfd);
      return cell_error(err, e, "copy the runtime binary into a memfd");
    }
  }
  close(self);
  /* Not writable by anyone without CAP_DAC_OVERRIDE, before it ever runs:
   * a container process reaching /proc/PID/exe cannot even open it for
   * writing (the seals alone only make the writes fail). */
  if (fchmod(mfd, 0555) < 0) {
    int e = errno;
    close(mfd);
    return cell_error(err, e, "make the runtime copy read-only (fchmod 0555)");
  }
  if (fcntl(mfd, F_ADD_SEALS, seals) < 0) {
    int e = errno;
    close(mfd);
    return cell_error(err, e, "seal the runtime copy");
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  cell_debug("self-exe: %lld bytes copied into a sealed memfd in %ld us, re-executing from it", (long long)sb.st_size,
             (long)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
  fexecve(mfd, argv, environ);
  int e = errno;
  close(mfd);
  return cell_error(err, e, "re-exec from the sealed runtime copy");
}
