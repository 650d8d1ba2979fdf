/* test_mounts.c - the container filesystem (runtime/mounts.c), run for real
 * in a forked child inside a private mount namespace of its own
 * (unshare(CLONE_NEWNS), / made rprivate there only) over a tmpfs scratch
 * directory: the host's mount table is never touched, and every mount dies
 * with the child.  The child reports "key=value" lines; the parent checks. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/mounts.h"
#include "runtime/spec.h"
#include "unit.h"
#include "unit_child.h"

static char scratch[64];

/* ---------- child side ---------- */

static void put(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    if (write(fd, text, strlen(text)) < 0) printf("setup=write %s\n", path);
    close(fd);
  }
}

static void mkdirs(const char *fmt, ...) {
  char p[PATH_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p, sizeof p, fmt, ap);
  va_end(ap);
  for (char *s = p + 1; *s; s++)
    if (*s == '/') {
      *s = 0;
      mkdir(p, 0755);
      *s = '/';
    }
  mkdir(p, 0755);
}

/* "opts|optional fields|fstype|super options" of the topmost mount on mp, or "-" */
static const char *minfo(const char *mp) {
  static char out[1024];
  snprintf(out, sizeof out, "-");
  FILE *f = fopen("/proc/self/mountinfo", "re");
  char line[4096];
  while (f && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    char *sep = strstr(line, " - ");
    if (!sep) continue;
    *sep = 0;
    char *save, *tok = strtok_r(line, " ", &save);
    char *fields[6] = {0};
    for (int i = 0; i < 6 && tok; i++, tok = i < 6 ? strtok_r(NULL, " ", &save) : tok) fields[i] = tok;
    if (!fields[5] || strcmp(fields[4], mp)) continue;
    char *optional = save && *save ? save : "";
    char fstype[64] = "", src[512] = "", super[512] = "";
    sscanf(sep + 3, "%63s %511s %511s", fstype, src, super);
    snprintf(out, sizeof out, "%s|%s|%s|%s", fields[5], optional, fstype, super);
  }
  if (f) fclose(f);
  return out;
}

static const char *slurp(const char *path) {
  static char buf[256];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return snprintf(buf, sizeof buf, "ERR %s", strerror(errno)), buf;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[n < 0 ? 0 : n] = 0;
  return buf;
}

/* errno of creating path ("0" if it worked) */
static const char *try_create(const char *path) {
  static char buf[64];
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  snprintf(buf, sizeof buf, "%s", fd >= 0 ? "0" : strerror(errno));
  if (fd >= 0) close(fd);
  return buf;
}

/* "major:minor" of a character device, "none" otherwise */
static const char *chrdev_sb(const char *path, struct stat *sb) {
  static char buf[32];
  if (stat(path, sb) < 0 || !S_ISCHR(sb->st_mode)) return "none";
  snprintf(buf, sizeof buf, "%u:%u", major(sb->st_rdev), minor(sb->st_rdev));
  return buf;
}
static const char *chrdev(const char *path) {
  struct stat sb;
  return chrdev_sb(path, &sb);
}

/* The private namespace and a tmpfs over the scratch directory. */
static int enter_scratch(void) {
  if (unshare(CLONE_NEWNS) < 0) return printf("setup=unshare: %s\n", strerror(errno)), -1;
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) return printf("setup=rprivate: %s\n", strerror(errno)), -1;
  if (mount("tmpfs", scratch, "tmpfs", 0, "size=16m,mode=755") < 0)
    return printf("setup=tmpfs: %s\n", strerror(errno)), -1;
  return 0;
}

/* Writes <scratch>/b/config.json from a template (%S = scratch) and loads it. */
static int load_spec(const char *tmpl, struct cell_spec *s, struct cell_err *err) {
  char text[8192], path[PATH_MAX];
  size_t o = 0;
  for (const char *p = tmpl; *p && o < sizeof text - 80; p++) {
    if (p[0] == '%' && p[1] == 'S') o += (size_t)snprintf(text + o, sizeof text - o, "%s", scratch), p++;
    else text[o++] = *p;
  }
  text[o] = 0;
  snprintf(path, sizeof path, "%s/b/config.json", scratch);
  put(path, text);
  snprintf(path, sizeof path, "%s/b", scratch);
  return cell_spec_load(path, s, err);
}

static const char *main_spec =
    "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
    "\"process\":{\"args\":[\"true\"],\"cwd\":\"/made-cwd\"},"
    "\"annotations\":{\"run.cell.fsview\":\"false\"},"
    "\"mounts\":["
    "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"%S/src\",\"options\":[\"bind\",\"ro\",\"nosuid\"]},"
    "{\"destination\":\"/tmp\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
    "\"options\":[\"nosuid\",\"nodev\",\"noexec\",\"relatime\",\"size=65536k\",\"mode=755\"]},"
    "{\"destination\":\"/rotmp\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
    "\"options\":[\"ro\",\"nosuid\",\"nodev\",\"noexec\",\"relatime\",\"size=65536k\",\"mode=755\"]},"
    "{\"destination\":\"/link-root/cell-i-tests-in-root\",\"type\":\"bind\",\"source\":\"%S/src\"},"
    "{\"destination\":\"/link-up/up/deeper\",\"type\":\"bind\",\"source\":\"%S/src\"},"
    "{\"destination\":\"/etc/bound\",\"type\":\"bind\",\"source\":\"%S/srcfile\",\"options\":[\"ro\"]},"
    "{\"destination\":\"/rtree\",\"type\":\"bind\",\"source\":\"%S/tree\",\"options\":[\"rbind\",\"rro\"]},"
    "{\"destination\":\"/nbtree\",\"type\":\"bind\",\"source\":\"%S/tree\",\"options\":[\"bind\"]},"
    "{\"destination\":\"/shared\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"rshared\"]},"
    "{\"destination\":\"/unb\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"unbindable\"]},"
    "{\"destination\":\"/copy\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"tmpcopyup\"]}"
    "],"
    "\"linux\":{\"namespaces\":[{\"type\":\"mount\"}],"
    "\"devices\":[{\"path\":\"/dev/mydev\",\"type\":\"c\",\"major\":1,\"minor\":3,\"fileMode\":384,\"gid\":5}],"
    "\"maskedPaths\":[\"/secret-file\",\"/secret-dir\",\"/no-such-path\"],"
    "\"readonlyPaths\":[\"/rw-dir\",\"/no-such-ro\"]}}";

static int child_main(void *arg) {
  (void)arg;
  if (enter_scratch() < 0) return 1;
  char r[PATH_MAX];
  snprintf(r, sizeof r, "%s/b/rootfs", scratch);
  mkdirs("%s/src", scratch);
  mkdirs("%s/tree/sub", scratch);
  mkdirs("%s/etc", r);
  mkdirs("%s/secret-dir", r);
  mkdirs("%s/rw-dir", r);
  mkdirs("%s/copy", r);
  char p[PATH_MAX + 64];
  snprintf(p, sizeof p, "%s/src/hello", scratch), put(p, "hi");
  snprintf(p, sizeof p, "%s/srcfile", scratch), put(p, "file");
  snprintf(p, sizeof p, "%s/tree/top", scratch), put(p, "top");
  snprintf(p, sizeof p, "%s/tree/sub", scratch);
  if (mount("tmpfs", p, "tmpfs", 0, "size=1m") < 0) printf("setup=submount: %s\n", strerror(errno));
  snprintf(p, sizeof p, "%s/tree/sub/inner", scratch), put(p, "inner");
  snprintf(p, sizeof p, "%s/secret-file", r), put(p, "secret");
  snprintf(p, sizeof p, "%s/secret-dir/x", r), put(p, "x");
  snprintf(p, sizeof p, "%s/rw-dir/f", r), put(p, "f");
  snprintf(p, sizeof p, "%s/copy/keep", r), put(p, "kept");
  snprintf(p, sizeof p, "%s/cell-i-tests-marker", r), put(p, "m");
  snprintf(p, sizeof p, "%s/link-root", r);
  if (symlink("/", p) < 0) printf("setup=symlink\n");
  snprintf(p, sizeof p, "%s/link-up", r);
  if (symlink("../../", p) < 0) printf("setup=symlink\n");

  struct cell_spec s;
  struct cell_err err = {0};
  if (load_spec(main_spec, &s, &err) < 0) return printf("spec=%s\n", err.msg), 1;
  if (cell_rootfs_mount_all(&s, false, NULL, NULL, &err) < 0) return printf("mount_all=%s\n", err.msg), 1;
  printf("mount_all=ok\n");
  /* before pivot: what the symlinked destinations did outside the rootfs */
  printf("escape.root=%s\n", access("/cell-i-tests-in-root", F_OK) == 0 ? "yes" : "no");
  snprintf(p, sizeof p, "%s/up", scratch);
  printf("escape.up=%s\n", access(p, F_OK) == 0 ? "yes" : "no");
  snprintf(p, sizeof p, "%s/b/up", scratch);
  printf("escape.up2=%s\n", access(p, F_OK) == 0 ? "yes" : "no");
  if (cell_rootfs_pivot(&s, false, &err) < 0) return printf("pivot=%s\n", err.msg), 1;
  if (cell_rootfs_finalize(&s, &err) < 0) return printf("finalize=%s\n", err.msg), 1;
  printf("finalize=ok\n");
  printf("marker=%s\n", slurp("/cell-i-tests-marker"));
  printf("in_root.hello=%s\n", slurp("/cell-i-tests-in-root/hello"));
  printf("up.hello=%s\n", slurp("/up/deeper/hello"));
  static const char *mps[] = {"/data", "/tmp", "/rotmp", "/etc/bound", "/rtree", "/rtree/sub", "/nbtree",
                              "/nbtree/sub", "/shared", "/unb", "/copy", "/secret-file", "/secret-dir",
                              "/rw-dir", "/", "/cell-i-tests-in-root", "/up/deeper"};
  for (size_t i = 0; i < sizeof mps / sizeof *mps; i++) printf("mi%s=%s\n", mps[i], minfo(mps[i]));
  printf("data.hello=%s\n", slurp("/data/hello"));
  printf("data.create=%s\n", try_create("/data/new"));
  printf("tmp.create=%s\n", try_create("/tmp/new"));
  printf("rotmp.create=%s\n", try_create("/rotmp/new"));
  printf("bound=%s\n", slurp("/etc/bound"));
  printf("rtree.top=%s\n", slurp("/rtree/top"));
  printf("rtree.inner=%s\n", slurp("/rtree/sub/inner"));
  printf("rtree.sub.create=%s\n", try_create("/rtree/sub/new"));
  printf("nbtree.inner=%s\n", slurp("/nbtree/sub/inner"));
  printf("copy.keep=%s\n", slurp("/copy/keep"));
  struct stat sb;
  printf("tmp.mode=%o\n", stat("/tmp", &sb) == 0 ? (unsigned)(sb.st_mode & 07777) : 0u);
  printf("secret-file=%s\n", slurp("/secret-file"));
  printf("secret-file.rdev=%s\n", chrdev("/secret-file"));
  printf("secret-dir.x=%s\n", slurp("/secret-dir/x"));
  printf("secret-dir.create=%s\n", try_create("/secret-dir/new"));
  printf("rw-dir.f=%s\n", slurp("/rw-dir/f"));
  printf("rw-dir.create=%s\n", try_create("/rw-dir/new"));
  printf("root.create=%s\n", try_create("/new"));
  struct statvfs sv;
  printf("root.rdonly=%d\n", statvfs("/", &sv) == 0 && (sv.f_flag & ST_RDONLY));
  printf("cwd.made=%d\n", stat("/made-cwd", &sb) == 0 && S_ISDIR(sb.st_mode));
  printf("dev.null=%s\n", chrdev("/dev/null"));
  printf("dev.mydev=%s", chrdev_sb("/dev/mydev", &sb));
  printf(" %o %u:%u\n", (unsigned)(sb.st_mode & 07777), (unsigned)sb.st_uid, (unsigned)sb.st_gid);
  char lnk[64] = "";
  ssize_t n = readlink("/dev/fd", lnk, sizeof lnk - 1);
  lnk[n > 0 ? n : 0] = 0;
  printf("dev.fd=%s\n", lnk);
  cell_spec_free(&s);
  return 0;
}

/* cell_open_in_root, the failure messages and idmapped mounts. */
static int child_misc(void *arg) {
  (void)arg;
  if (enter_scratch() < 0) return 1;
  char r[PATH_MAX], p[PATH_MAX + 64];
  snprintf(r, sizeof r, "%s/b/rootfs", scratch);
  mkdirs("%s/dir", r);
  mkdirs("%s/src", scratch);
  snprintf(p, sizeof p, "%s/src/owned", scratch), put(p, "o");
  snprintf(p, sizeof p, "%s/afile", r), put(p, "a");
  snprintf(p, sizeof p, "%s/link-up", r);
  if (symlink("../../..", p) < 0) printf("setup=symlink\n");
  snprintf(p, sizeof p, "%s/dangling", r);
  if (symlink("/made-by-link/leaf", p) < 0) printf("setup=symlink\n");
  snprintf(p, sizeof p, "%s/proc-link", r);
  if (symlink("/dir", p) < 0) printf("setup=symlink\n");

  struct cell_err err = {0};
  int rootfd = open(r, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int fd = cell_open_in_root(rootfd, "/link-up/dir", false, false, &err);
  char lp[64], tgt[PATH_MAX] = "";
  snprintf(lp, sizeof lp, "/proc/self/fd/%d", fd);
  ssize_t n = fd >= 0 ? readlink(lp, tgt, sizeof tgt - 1) : -1;
  tgt[n > 0 ? n : 0] = 0;
  printf("open.up=%s\n", fd >= 0 ? tgt : err.msg);
  if (fd >= 0) close(fd);
  fd = cell_open_in_root(rootfd, "/nope/x", false, false, &err);
  printf("open.missing=%s\n", fd >= 0 ? "opened" : err.msg);
  fd = cell_open_in_root(rootfd, "/dangling", true, true, &err);
  struct stat sb;
  snprintf(p, sizeof p, "%s/made-by-link/leaf", r);
  printf("open.dangling=%d %d\n", fd >= 0, stat(p, &sb) == 0 && S_ISREG(sb.st_mode));
  snprintf(p, sizeof p, "/made-by-link");
  printf("open.dangling.host=%d\n", access(p, F_OK) == 0);
  if (fd >= 0) close(fd);
  fd = cell_open_in_root(rootfd, "/new/a/b", true, false, &err);
  snprintf(p, sizeof p, "%s/new/a/b", r);
  printf("open.mkdirs=%d %d\n", fd >= 0, stat(p, &sb) == 0 && S_ISDIR(sb.st_mode));
  if (fd >= 0) close(fd);
  close(rootfd);

  /* an unknown filesystem option reaches the kernel, and the error names the mount */
  struct cell_spec s;
  if (load_spec("{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"},\"annotations\":{\"run.cell.fsview\":\"false\"},"
                "\"mounts\":[{\"destination\":\"/ok\",\"type\":\"tmpfs\"},"
                "{\"destination\":\"/bad\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\",\"bogus=1\"]}]}",
                &s, &err) < 0)
    return printf("spec=%s\n", err.msg), 1;
  printf("bogus=%s\n", cell_rootfs_mount_all(&s, false, NULL, NULL, &err) < 0 ? err.msg : "mounted");
  cell_spec_free(&s);
  /* proc only on a directory, not through a symlink to one, not on a file */
  if (load_spec("{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"},\"annotations\":{\"run.cell.fsview\":\"false\"},"
                "\"mounts\":[{\"destination\":\"/afile\",\"type\":\"proc\",\"source\":\"proc\"}]}",
                &s, &err) < 0)
    return printf("spec=%s\n", err.msg), 1;
  printf("proc.file=%s\n", cell_rootfs_mount_all(&s, false, NULL, NULL, &err) < 0 ? err.msg : "mounted");
  cell_spec_free(&s);
  /* a bind source that does not exist */
  if (load_spec("{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"},\"annotations\":{\"run.cell.fsview\":\"false\"},"
                "\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"%S/nonexistent\"}]}",
                &s, &err) < 0)
    return printf("spec=%s\n", err.msg), 1;
  printf("bind.missing=%s\n", cell_rootfs_mount_all(&s, false, NULL, NULL, &err) < 0 ? err.msg : "mounted");
  cell_spec_free(&s);

  /* idmap: without any mappings it is refused; with its own it maps owners */
  if (load_spec("{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"},"
                "\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"%S/src\",\"options\":[\"idmap\"]}]}",
                &s, &err) < 0)
    return printf("spec=%s\n", err.msg), 1;
  printf("idmap.nomap=%s\n", cell_idmap_prepare(&s, &err) < 0 ? err.msg : "prepared");
  cell_spec_free(&s);
  if (load_spec("{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"},\"annotations\":{\"run.cell.fsview\":\"false\"},"
                "\"mounts\":[{\"destination\":\"/idm\",\"type\":\"bind\",\"source\":\"%S/src\",\"options\":[\"idmap\"],"
                "\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
                "\"gidMappings\":[{\"containerID\":0,\"hostID\":200000,\"size\":65536}]}]}",
                &s, &err) < 0)
    return printf("spec=%s\n", err.msg), 1;
  if (cell_idmap_prepare(&s, &err) < 0) printf("idmap=%s\n", err.msg);
  else if (cell_rootfs_mount_all(&s, false, NULL, NULL, &err) < 0) printf("idmap=%s\n", err.msg);
  else {
    snprintf(p, sizeof p, "%s/idm/owned", r);
    int sr = stat(p, &sb);
    printf("idmap=%s\n", sr == 0 ? "ok" : strerror(errno));
    printf("idmap.owner=%u:%u\n", (unsigned)sb.st_uid, (unsigned)sb.st_gid);
    snprintf(p, sizeof p, "%s/src/owned", scratch);
    sr = stat(p, &sb);
    printf("idmap.source=%u:%u\n", sr == 0 ? (unsigned)sb.st_uid : 999u, (unsigned)sb.st_gid);
  }
  cell_spec_free(&s);
  return 0;
}

/* ---------- parent side ---------- */

static const char *out;

/* the value of "key=" in the child's output, "(missing)" if none */
static const char *V(const char *key) {
  static char buf[1024];
  size_t kl = strlen(key);
  for (const char *p = out; p && *p;) {
    if (!strncmp(p, key, kl) && p[kl] == '=') {
      size_t n = strcspn(p + kl + 1, "\n");
      snprintf(buf, sizeof buf, "%.*s", (int)(n < sizeof buf ? n : sizeof buf - 1), p + kl + 1);
      return buf;
    }
    p = strchr(p, '\n');
    if (p) p++;
  }
  return "(missing)";
}

/* does the ",| " separated list hold tok (or a token starting with tok when it ends in ':' or '=')? */
static int has(const char *list, const char *tok) {
  size_t tl = strlen(tok);
  bool prefix = tl && (tok[tl - 1] == ':' || tok[tl - 1] == '=');
  for (const char *p = list; *p;) {
    size_t n = strcspn(p, ",| ");
    if (n == tl ? !strncmp(p, tok, tl) : (prefix && n > tl && !strncmp(p, tok, tl))) return 1;
    p += n;
    if (*p) p++;
  }
  return 0;
}

/* field k (0 opts, 1 optional, 2 fstype, 3 super) of a mountinfo value */
static const char *mi_field(const char *mp, int k) {
  static char buf[1024];
  char key[128];
  snprintf(key, sizeof key, "mi%s", mp);
  snprintf(buf, sizeof buf, "%s", V(key));
  char *s = buf;
  for (int i = 0; i < k && s; i++) {
    s = strchr(s, '|');
    if (s) s++;
  }
  if (!s) return "";
  s[strcspn(s, "|")] = 0;
  return s;
}

static void check_main(void) {
  int ws;
  out = in_child(child_main, NULL, &ws);
  CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "child: private namespace, mount_all, pivot, finalize");
  if (!WIFEXITED(ws) || WEXITSTATUS(ws)) printf("#   %s", out);
  CHECK_STR(V("mount_all"), "ok", "cell_rootfs_mount_all succeeds");
  CHECK_STR(V("finalize"), "ok", "cell_rootfs_finalize succeeds");
  CHECK_STR(V("marker"), "m", "after pivot / is the rootfs");
  /* symlinked destinations stay inside the rootfs */
  CHECK_STR(V("escape.root"), "no", "destination through a link to / is not created on the real /");
  CHECK(!strcmp(V("escape.up"), "no") && !strcmp(V("escape.up2"), "no"),
        "destination through a link to ../../ is not created outside the rootfs");
  CHECK_STR(V("in_root.hello"), "hi", "link to /: the bind landed inside the rootfs");
  CHECK_STR(V("up.hello"), "hi", "link to ../../: the bind landed inside the rootfs");
  CHECK(has(mi_field("/cell-i-tests-in-root", 0), "rw") && has(mi_field("/up/deeper", 0), "rw"),
        "both symlinked binds are mounts of their own");
  /* read-only bind: a remount of the bind */
  CHECK(has(mi_field("/data", 0), "ro") && has(mi_field("/data", 0), "nosuid"), "bind ro,nosuid: mount is ro,nosuid");
  CHECK_STR(V("data.hello"), "hi", "ro bind shows the source");
  CHECK_STR(V("data.create"), "Read-only file system", "ro bind refuses writes");
  /* tmpfs with size and mode */
  const char *o = mi_field("/tmp", 0);
  CHECK(!strcmp(mi_field("/tmp", 2), "tmpfs") && has(o, "rw") && has(o, "nosuid") && has(o, "nodev") &&
            has(o, "noexec") && has(o, "relatime"),
        "tmpfs nosuid,nodev,noexec,relatime -> mount flags");
  CHECK(has(mi_field("/tmp", 3), "size=65536k") && has(mi_field("/tmp", 3), "mode=755"),
        "tmpfs size=65536k,mode=755 -> superblock options");
  CHECK_STR(V("tmp.mode"), "755", "tmpfs mode=755 on the directory");
  CHECK_STR(V("tmp.create"), "0", "rw tmpfs is writable");
  CHECK(has(mi_field("/rotmp", 0), "ro") && has(mi_field("/rotmp", 3), "size=65536k"),
        "ro,nosuid,nodev,noexec,relatime,size=65536k,mode=755 tmpfs is ro with its size");
  CHECK_STR(V("rotmp.create"), "Read-only file system", "ro tmpfs refuses writes");
  CHECK_STR(V("bound"), "file", "file bind mount");
  CHECK(has(mi_field("/etc/bound", 0), "ro"), "file bind ro");
  /* rbind + rro: the submount too */
  CHECK(has(mi_field("/rtree", 0), "ro") && has(mi_field("/rtree/sub", 0), "ro"), "rbind,rro: bind and submount ro");
  CHECK(!strcmp(V("rtree.top"), "top") && !strcmp(V("rtree.inner"), "inner"), "rbind carries the submount");
  CHECK_STR(V("rtree.sub.create"), "Read-only file system", "rro submount refuses writes");
  CHECK(has(mi_field("/nbtree", 0), "rw") && !strcmp(V("mi/nbtree/sub"), "-"), "plain bind: no submount");
  CHECK(!strncmp(V("nbtree.inner"), "ERR", 3), "plain bind: the submount's file is not there");
  /* propagation */
  CHECK(has(mi_field("/shared", 1), "shared:"), "rshared -> shared peer group");
  CHECK(has(mi_field("/unb", 1), "unbindable"), "unbindable -> unbindable");
  CHECK(!has(mi_field("/data", 1), "shared:"), "default propagation is not shared");
  CHECK(!strcmp(V("copy.keep"), "kept") && !strcmp(mi_field("/copy", 2), "tmpfs"), "tmpcopyup keeps the files");
  /* masked and read-only paths */
  CHECK_STR(V("secret-file"), "", "masked file reads empty");
  CHECK_STR(V("secret-file.rdev"), "1:3", "masked file is /dev/null");
  CHECK(!strcmp(mi_field("/secret-dir", 2), "tmpfs") && has(mi_field("/secret-dir", 0), "ro"),
        "masked dir is a ro tmpfs");
  CHECK(!strncmp(V("secret-dir.x"), "ERR", 3), "masked dir hides its files");
  CHECK_STR(V("secret-dir.create"), "Read-only file system", "masked dir refuses writes");
  o = mi_field("/rw-dir", 0);
  CHECK(has(o, "ro") && has(o, "nosuid") && has(o, "nodev") && has(o, "noexec"), "readonly path: ro,nosuid,nodev,noexec");
  CHECK_STR(V("rw-dir.f"), "f", "readonly path keeps its files");
  CHECK_STR(V("rw-dir.create"), "Read-only file system", "readonly path refuses writes");
  /* read-only root, cwd made before */
  CHECK_STR(V("root.rdonly"), "1", "root.readonly: / is ro");
  CHECK_STR(V("root.create"), "Read-only file system", "root.readonly refuses writes");
  CHECK_STR(V("cwd.made"), "1", "a missing process.cwd is made before / turns ro");
  /* /dev */
  CHECK_STR(V("dev.null"), "1:3", "default /dev/null");
  CHECK_STR(V("dev.mydev"), "1:3 600 0:5", "linux.devices: rdev, fileMode, absent uid 0, gid 5");
  CHECK_STR(V("dev.fd"), "/proc/self/fd", "/dev/fd link");
}

static void check_misc(void) {
  int ws;
  out = in_child(child_misc, NULL, &ws);
  CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "child: open_in_root, errors, idmap");
  if (!WIFEXITED(ws) || WEXITSTATUS(ws)) printf("#   %s", out);
  char want[PATH_MAX];
  snprintf(want, sizeof want, "%s/b/rootfs/dir", scratch);
  CHECK_STR(V("open.up"), want, "open_in_root: ../../.. stops at the rootfs");
  CHECK_STR(V("open.missing"), "resolve /nope/x inside the rootfs: No such file or directory",
            "open_in_root: missing path message");
  CHECK_STR(V("open.dangling"), "1 1", "create through a dangling absolute link: made inside the rootfs");
  CHECK_STR(V("open.dangling.host"), "0", "create through a dangling link: nothing on the real /");
  CHECK_STR(V("open.mkdirs"), "1 1", "open_in_root creates missing directories");
  CHECK_STR(V("bogus"), "mounts[1]: mount tmpfs (tmpfs) on /bad with options \"bogus=1\": Invalid argument",
            "an unknown fs option: the error names the mount and its options");
  CHECK_STR(V("proc.file"), "mounts[0].destination: /afile must be mounted on an ordinary directory",
            "proc on a file refused");
  snprintf(want, sizeof want, "mounts[0].source: stat %s/nonexistent: No such file or directory", scratch);
  CHECK_STR(V("bind.missing"), want, "missing bind source names mounts[0].source");
  CHECK_STR(V("idmap.nomap"), "mounts[0]: idmap needs uidMappings/gidMappings (on the mount or in linux)",
            "idmap without mappings refused");
  CHECK_STR(V("idmap"), "ok", "idmapped bind mount");
  CHECK(!strcmp(V("idmap.owner"), "100000:200000") && !strcmp(V("idmap.source"), "0:0"),
        "idmapped mount: owner 0 shows as the mapped host ids, the source is unchanged");
  if (strcmp(V("idmap.owner"), "100000:200000")) printf("#   owner %s source %s\n", V("idmap.owner"), V("idmap.source"));
}

int main(void) {
  snprintf(scratch, sizeof scratch, "/tmp/cell-i-tests-mounts.XXXXXX");
  if (!mkdtemp(scratch)) return 2;
  check_main();
  check_misc();
  /* the children's namespaces are gone: the scratch dir is empty on the host */
  CHECK(rmdir(scratch) == 0, "scratch dir empty and removed (no mount left behind)");
  UNIT_DONE();
}
