/* etc.c - /etc/hostname, /etc/hosts, /etc/resolv.conf inside a rootfs
 * (netns_write_etc). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/path.h"
#include "lib/strbuf.h"
#include "netns/netns.h"

/* NAME in etcfd replaced by data: a new file made with O_EXCL|O_NOFOLLOW
 * under a unique name, then renamed over NAME (a symlink at NAME is
 * replaced, never followed). */
static int write_in(int etcfd, const char *name, const char *data, struct cell_err *err) {
  char tmp[64];
  int fd = -1;
  for (int i = 0; i < 100 && fd < 0; i++) {
    snprintf(tmp, sizeof tmp, ".%s.cell-%d-%d", name, (int)getpid(), i);
    fd = openat(etcfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST) return cell_error(err, errno, "rootfs: create /etc/%s", tmp);
  }
  if (fd < 0) return cell_error(err, EEXIST, "rootfs: create a temporary file for /etc/%s", name);
  size_t len = strlen(data);
  const char *p = data;
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int e = w < 0 ? errno : EIO;
      close(fd);
      unlinkat(etcfd, tmp, 0);
      return cell_error(err, e, "rootfs: write /etc/%s", name);
    }
    p += w;
    len -= (size_t)w;
  }
  if (fchmod(fd, 0644) < 0 || close(fd) < 0) {
    int e = errno;
    unlinkat(etcfd, tmp, 0);
    return cell_error(err, e, "rootfs: write /etc/%s", name);
  }
  if (renameat(etcfd, tmp, etcfd, name) < 0) {
    int e = errno;
    unlinkat(etcfd, tmp, 0);
    return cell_error(err, e, "rootfs: rename into /etc/%s", name);
  }
  return 0;
}

static bool valid_hostname(const char *h) {
  size_t n = strlen(h);
  if (!n || n > 63) return false;
  for (size_t i = 0; i < n; i++) {
    char c = h[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
      return false;
  }
  return h[0] != '-' && h[0] != '.';
}

int netns_write_etc(int rootfs_dirfd, const char *hostname, const struct netns_endpoint *eps, size_t n,
                    struct cell_err *err) {
  if (hostname && !valid_hostname(hostname))
    return cell_error(err, 0, "hostname \"%s\": letters, digits, '-' and '.', 1..63 characters", hostname);
  int etcfd = cell_path_open_in_root(rootfs_dirfd, "/etc", O_DIRECTORY | O_RDONLY);
  if (etcfd < 0) return cell_error(err, errno, "rootfs: open /etc");
  int r = -1;
  struct strbuf sb = STRBUF_INIT(1 << 20);
  if (hostname) {
    strbuf_printf(&sb, "%s\n", hostname);
    if (sb.err) goto oom;
    if (write_in(etcfd, "hostname", strbuf_str(&sb), err) < 0) goto out;
  }
  strbuf_reset(&sb);
  strbuf_puts(&sb, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
  for (size_t i = 0; i < n; i++) {
    const char *name = hostname ? hostname : eps[i].hostname[0] ? eps[i].hostname : NULL;
    if (!name) continue;
    if (eps[i].ip4[0]) strbuf_printf(&sb, "%s\t%s\n", eps[i].ip4, name);
    if (eps[i].ip6[0]) strbuf_printf(&sb, "%s\t%s\n", eps[i].ip6, name);
  }
  if (hostname && !n) strbuf_printf(&sb, "127.0.1.1\t%s\n", hostname);
  if (sb.err) goto oom;
  if (write_in(etcfd, "hosts", strbuf_str(&sb), err) < 0) goto out;
  strbuf_reset(&sb);
  for (size_t i = 0; i < n; i++)
    if (eps[i].dns[0]) strbuf_printf(&sb, "nameserver %s\n", eps[i].dns);
  if (sb.err) goto oom;
  if (sb.len && write_in(etcfd, "resolv.conf", strbuf_str(&sb), err) < 0) goto out;
  r = 0;
  goto out;
oom:
  cell_error(err, ENOMEM, "rootfs: /etc files");
out:
  strbuf_free(&sb);
  close(etcfd);
  return r;
}
