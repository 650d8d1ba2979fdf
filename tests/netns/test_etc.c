/* test_etc - netns_write_etc: /etc/hostname, hosts, resolv.conf written
 * inside a rootfs; symlinks pointing out of it are replaced, never followed;
 * a symlinked /etc resolves inside the rootfs; bad hostnames refused. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/file.h"
#include "netns/netns.h"
#include "unit.h"

static char *readf(const char *dir, const char *name) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return cell_read_fileat(AT_FDCWD, p, NULL);
}

int main(void) {
  char top[] = "/tmp/hnet-etc.XXXXXX";
  if (!mkdtemp(top)) return 1;
  char rootfs[256], outside[256], p[512];
  snprintf(rootfs, sizeof rootfs, "%s/rootfs", top);
  snprintf(outside, sizeof outside, "%s/outside", top);
  mkdir(rootfs, 0755);
  mkdir(outside, 0755);
  snprintf(p, sizeof p, "%s/etc", rootfs);
  mkdir(p, 0755);
  /* the rootfs's files are symlinks pointing out: to the host's side */
  char target[512];
  snprintf(target, sizeof target, "%s/hosts", outside);
  int fd = open(target, O_WRONLY | O_CREAT, 0644);
  CHECK(fd >= 0 && write(fd, "host-file\n", 10) == 10, "the outside file");
  close(fd);
  snprintf(p, sizeof p, "%s/etc/hosts", rootfs);
  CHECK(symlink(target, p) == 0, "etc/hosts -> outside");
  snprintf(p, sizeof p, "%s/etc/hostname", rootfs);
  CHECK(symlink("../../outside/hostname", p) == 0, "etc/hostname -> ../../outside (relative escape)");

  struct netns_endpoint ep = {0};
  snprintf(ep.ip4, sizeof ep.ip4, "10.7.0.2");
  snprintf(ep.ip6, sizeof ep.ip6, "fd07::2");
  snprintf(ep.dns, sizeof ep.dns, "10.7.0.1");
  struct cell_err err = {0};
  int rfd = open(rootfs, O_DIRECTORY | O_RDONLY);
  CHECK(netns_write_etc(rfd, "web1", &ep, 1, &err) == 0, "write_etc succeeds");
  if (err.msg[0]) printf("# %s\n", err.msg);
  char etc[300];
  snprintf(etc, sizeof etc, "%s/etc", rootfs);
  char *h = readf(etc, "hostname"), *hosts = readf(etc, "hosts"), *rc = readf(etc, "resolv.conf");
  CHECK_STR(h, "web1\n", "/etc/hostname");
  CHECK(hosts && strstr(hosts, "127.0.0.1\tlocalhost\n") && strstr(hosts, "10.7.0.2\tweb1\n") &&
            strstr(hosts, "fd07::2\tweb1\n"),
        "/etc/hosts has localhost and the endpoint's addresses");
  CHECK_STR(rc, "nameserver 10.7.0.1\n", "/etc/resolv.conf names the network's resolver");
  free(h);
  free(hosts);
  free(rc);
  struct stat sb;
  snprintf(p, sizeof p, "%s/etc/hosts", rootfs);
  CHECK(lstat(p, &sb) == 0 && S_ISREG(sb.st_mode), "the symlink was replaced by a file");
  char *o = readf(outside, "hosts");
  CHECK_STR(o, "host-file\n", "the outside file is untouched");
  free(o);
  snprintf(p, sizeof p, "%s/hostname", outside);
  CHECK(access(p, F_OK) != 0, "nothing was created outside through the relative symlink");

  /* a rootfs whose /etc is an absolute symlink: resolved inside the rootfs */
  char r2[300];
  snprintf(r2, sizeof r2, "%s/r2", top);
  mkdir(r2, 0755);
  snprintf(p, sizeof p, "%s/private", r2);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/private/etc", r2);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/etc", r2);
  CHECK(symlink("/private/etc", p) == 0, "r2/etc -> /private/etc");
  int r2fd = open(r2, O_DIRECTORY | O_RDONLY);
  CHECK(netns_write_etc(r2fd, "web2", NULL, 0, &err) == 0, "write_etc through an absolute /etc symlink");
  snprintf(p, sizeof p, "%s/private/etc", r2);
  h = readf(p, "hostname");
  CHECK_STR(h, "web2\n", "written in ROOTFS/private/etc, not the host's /private/etc");
  free(h);
  hosts = readf(p, "hosts");
  CHECK(hosts && strstr(hosts, "127.0.1.1\tweb2\n"), "without endpoints the hostname maps to 127.0.1.1");
  free(hosts);
  snprintf(p, sizeof p, "%s/private/etc/resolv.conf", r2);
  CHECK(access(p, F_OK) != 0, "no resolver known: resolv.conf is left alone");
  /* an /etc pointing out through .. stays inside too */
  snprintf(p, sizeof p, "%s/etc", r2);
  unlink(p);
  CHECK(symlink("../../../../outside", p) == 0, "r2/etc -> ../../../../outside");
  CHECK(netns_write_etc(r2fd, "web3", NULL, 0, &err) < 0 || access("/outside/hostname", F_OK) != 0,
        "never written outside the rootfs");
  snprintf(p, sizeof p, "%s/hostname", outside);
  CHECK(access(p, F_OK) != 0, "the real outside dir got nothing");
  CHECK(netns_write_etc(rfd, "bad name!", NULL, 0, &err) < 0 && strstr(err.msg, "hostname"),
        "a bad hostname is refused, naming it");
  CHECK(netns_write_etc(rfd, "-x", NULL, 0, &err) < 0, "a hostname starting with '-' is refused");
  int left = 0;
  snprintf(p, sizeof p, "%s/etc", rootfs);
  DIR *d = opendir(p);
  struct dirent *de;
  while (d && (de = readdir(d)))
    if (strstr(de->d_name, ".cell-")) left++;
  if (d) closedir(d);
  CHECK(!left, "no temporary file left in /etc");
  close(rfd);
  close(r2fd);
  cell_rm_rf_at(AT_FDCWD, top);
  UNIT_DONE();
}
