#include "runtime/mounts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/path.h"
#include "lib/strbuf.h"

#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

struct cell_mount_attr {
  unsigned long long attr_set, attr_clr, propagation, userns_fd;
};

static int sys_mount_setattr(int dfd, const char *path, unsigned flags, struct cell_mount_attr *a) {
  return (int)syscall(SYS_mount_setattr, dfd, path, flags, a, sizeof *a);
}

#define FDPATH(buf, fd) snprintf((buf), sizeof(buf), "/proc/self/fd/%d", (fd))

static int open_in_root_depth(int rootfd, const char *path, bool create, bool as_file, int depth,
                              struct cell_err *err) {
  while (*path == '/') path++;
  const char *rel = *path ? path : ".";
  int fd = cell_path_open_in_root(rootfd, rel, O_PATH);
  if (fd >= 0 || errno != ENOENT || !create) {
    if (fd < 0) return cell_error(err, errno, "resolve /%s inside the rootfs", path);
    return fd;
  }
  if (depth > 40) return cell_error(err, ELOOP, "resolve /%s inside the rootfs", path);
  /* Create the missing component under its (resolved-in-root) parent. */
  char buf[PATH_MAX];
  snprintf(buf, sizeof buf, "%s", path);
  size_t len = strlen(buf);
  while (len > 1 && buf[len - 1] == '/') buf[--len] = 0;
  char *slash = strrchr(buf, '/');
  const char *base = slash ? slash + 1 : buf;
  int parent;
  if (slash) {
    *slash = 0;
    parent = open_in_root_depth(rootfd, buf, true, false, depth + 1, err);
  } else {
    parent = dup(rootfd);
  }
  if (parent < 0) return -1;
  if (!strcmp(base, "..") || !strcmp(base, ".")) {
    close(parent);
    return cell_error(err, EINVAL, "resolve /%s inside the rootfs", path);
  }
  int r;
  char pp[64];
  FDPATH(pp, parent);
  int pdir = open(pp, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (pdir < 0) {
    close(parent);
    return cell_error(err, errno, "open parent of /%s inside the rootfs", path);
  }
  if (as_file) {
    r = openat(pdir, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (r >= 0) close(r);
  } else {
    r = mkdirat(pdir, base, 0755);
  }
  if (r < 0 && errno == EEXIST) {
    /* A dangling symlink: follow it inside the root and create its target. */
    char target[PATH_MAX];
    ssize_t n = readlinkat(pdir, base, target, sizeof target - 1);
    if (n > 0) {
      target[n] = 0;
      char next[PATH_MAX];
      if (target[0] == '/') snprintf(next, sizeof next, "%s", target);
      else snprintf(next, sizeof next, "%s/%s", slash ? buf : "", target);
      close(pdir);
      close(parent);
      return open_in_root_depth(rootfd, next, create, as_file, depth + 1, err);
    }
  }
  int e = errno;
  close(pdir);
  close(parent);
  if (r < 0 && e != EEXIST) return cell_error(err, e, "create /%s inside the rootfs", path);
  fd = cell_path_open_in_root(rootfd, rel, O_PATH);
  if (fd < 0) return cell_error(err, errno, "resolve /%s inside the rootfs", path);
  return fd;
}

int cell_open_in_root(int rootfd, const char *path, bool create, bool as_file, struct cell_err *err) {
  return open_in_root_depth(rootfd, path, create, as_file, 0, err);
}

/* Remount with flags; inside a user namespace keep the flags the kernel locked. */
static int remount_flags(const char *target, unsigned long flags, const char *data) {
  if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | flags, data) == 0) return 0;
  if (errno != EPERM) return -1;
  struct statvfs sv;
  if (statvfs(target, &sv) < 0) return -1;
  unsigned long locked = 0;
  if (sv.f_flag & ST_NOSUID) locked |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) locked |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) locked |= MS_NOEXEC;
  if (sv.f_flag & ST_RDONLY) locked |= MS_RDONLY;
  if (sv.f_flag & ST_NOATIME) locked |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) locked |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) locked |= MS_RELATIME;
  return mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | flags | locked, data);
}

static int copy_tree(int from, int to) {
  DIR *d = fdopendir(dup(from));
  if (!d) return -1;
  struct dirent *de;
  int rc = 0;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    struct stat sb;
    if (fstatat(from, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0) continue;
    if (S_ISDIR(sb.st_mode)) {
      if (mkdirat(to, de->d_name, sb.st_mode & 07777) < 0 && errno != EEXIST) rc = -1;
      int a = openat(from, de->d_name, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      int b = openat(to, de->d_name, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (a >= 0 && b >= 0) rc |= copy_tree(a, b);
      if (a >= 0) close(a);
      if (b >= 0) close(b);
    } else if (S_ISLNK(sb.st_mode)) {
      char t[PATH_MAX];
      ssize_t n = readlinkat(from, de->d_name, t, sizeof t - 1);
      if (n >= 0) {
        t[n] = 0;
        if (symlinkat(t, to, de->d_name) < 0) rc = -1;
      }
    } else if (S_ISREG(sb.st_mode)) {
      int a = openat(from, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      int b = openat(to, de->d_name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, sb.st_mode & 07777);
      char buf[65536];
      ssize_t n;
      while (a >= 0 && b >= 0 && (n = read(a, buf, sizeof buf)) > 0)
        if (write(b, buf, (size_t)n) != n) rc = -1;
      if (a >= 0) close(a);
      if (b >= 0) close(b);
    } else {
      if (mknodat(to, de->d_name, sb.st_mode, sb.st_rdev) < 0) rc = -1;
    }
    fchownat(to, de->d_name, sb.st_uid, sb.st_gid, AT_SYMLINK_NOFOLLOW);
  }
  closedir(d);
  return rc;
}

/* Write n mappings to /proc/PID/FILE (uid_map or gid_map) in one write, as
 * the kernel requires; the text is bounded, never truncated. */
int cell_idmap_write(pid_t pid, const char *file, const struct cell_idmap *m, size_t n, const char *field,
                     struct cell_err *err) {
  /* The kernel takes one write shorter than a page. */
  long page = sysconf(_SC_PAGESIZE);
  size_t max = page > 0 ? (size_t)page - 1 : 4095;
  cleanup_strbuf struct strbuf sb = STRBUF_INIT(max);
  for (size_t i = 0; i < n; i++)
    if (strbuf_printf(&sb, "%lu %lu %lu\n", m[i].container, m[i].host, m[i].size) < 0)
      return cell_error(err, sb.err == E2BIG ? 0 : sb.err,
                        "%s: %zu mappings do not fit in one write to %s (the kernel accepts at most %zu bytes)", field,
                        n, file, max);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return cell_error(err, errno, "%s: open %s", field, path);
  ssize_t w = write(fd, strbuf_str(&sb), sb.len);
  int e = errno;
  close(fd);
  if (w != (ssize_t)sb.len) return cell_error(err, w < 0 ? e : EIO, "%s: write %s", field, path);
  return 0;
}

/* A user namespace fd holding the given mappings, for idmapped mounts. */
static int userns_fd_for(const struct cell_mount *m, struct cell_err *err) {
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0) return cell_error(err, errno, "pipe");
  pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0) {
    close(pfd[0]);
    close(pfd[1]);
    return cell_error(err, errno, "clone a user namespace for an idmapped mount");
  }
  if (pid == 0) {
    char c;
    close(pfd[1]);
    ssize_t r = read(pfd[0], &c, 1);
    _exit(r < 0);
  }
  close(pfd[0]);
  int rc = 0;
  const char *files[] = {"uid_map", "gid_map"};
  const struct cell_idmap *maps[] = {m->uidmap, m->gidmap};
  size_t ns[] = {m->nuidmap, m->ngidmap};
  const char *fields[] = {"uidMappings", "gidMappings"};
  for (int k = 0; k < 2 && rc == 0; k++) rc = cell_idmap_write(pid, files[k], maps[k], ns[k], fields[k], err);
  int nsfd = -1;
  if (rc == 0) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
    nsfd = open(path, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) rc = cell_error(err, errno, "open %s", path);
  }
  close(pfd[1]);
  waitpid(pid, NULL, 0);
  return rc < 0 ? -1 : nsfd;
}

/* A detached copy of a bind mount's source, made with the runtime's
 * credentials; idmapped here because only the initial user namespace may
 * idmap a host filesystem. */
static int prepare_tree(struct cell_mount *m, size_t i, struct cell_err *err) {
  int tree = (int)syscall(SYS_open_tree, AT_FDCWD, m->source,
                          OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (m->rec ? AT_RECURSIVE : 0));
  if (tree < 0) return cell_error(err, errno, "mounts[%zu].source: open_tree %s", i, m->source);
  if (m->idmap) {
    struct cell_mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (unsigned long long)m->userns_fd};
    if (sys_mount_setattr(tree, "", AT_EMPTY_PATH | (m->rec ? AT_RECURSIVE : 0), &a) < 0) {
      int e = errno;
      close(tree);
      return cell_error(err, e, "mounts[%zu]: idmap mount of %s", i, m->source);
    }
  }
  m->tree_fd = tree;
  return 0;
}

int cell_idmap_prepare(struct cell_spec *s, struct cell_err *err) {
  bool userns = cell_spec_has_ns(s, CLONE_NEWUSER);
  for (size_t i = 0; i < s->nmounts; i++) {
    struct cell_mount *m = &s->mounts[i];
    /* the mapped root may lack search permission on the way to a bind source:
     * keep a copy made with ours (used only then, see do_mount) */
    struct cell_err ignored;
    struct statvfs sv;
    /* Not from a host mount with restrictions (ro, nodev, noexec, nosuid):
     * the init's own bind keeps them locked in its user namespace, a copy
     * moved in from the runtime's would not. */
    if (m->bind && !m->idmap && userns && statvfs(m->source, &sv) == 0 &&
        !(sv.f_flag & (ST_RDONLY | ST_NODEV | ST_NOEXEC | ST_NOSUID)))
      prepare_tree(m, i, &ignored); /* errors: the init reports its own */
    if (!m->idmap) continue;
    if (!m->nuidmap) {
      /* "idmap" without its own mappings: the container's user namespace mappings */
      if (!s->nuidmap) return cell_error(err, 0, "mounts[%zu]: idmap needs uidMappings/gidMappings (on the mount or in linux)", i);
      m->uidmap = malloc(s->nuidmap * sizeof *m->uidmap);
      m->gidmap = malloc(s->ngidmap * sizeof *m->gidmap);
      if (!m->uidmap || !m->gidmap) return cell_error(err, ENOMEM, "mounts[%zu]", i);
      memcpy(m->uidmap, s->uidmap, s->nuidmap * sizeof *m->uidmap);
      memcpy(m->gidmap, s->gidmap, s->ngidmap * sizeof *m->gidmap);
      m->nuidmap = s->nuidmap;
      m->ngidmap = s->ngidmap;
    }
    m->userns_fd = userns_fd_for(m, err);
    if (m->userns_fd < 0) return cell_error_wrap(err, "mounts[%zu]", i);
    if (prepare_tree(m, i, err) < 0) return -1;
  }
  return 0;
}

/* Attach the runtime's copy of a bind source (cell_idmap_prepare). */
static int mount_tree(const struct cell_mount *m, int dstfd, struct cell_err *err) {
  if (syscall(SYS_move_mount, m->tree_fd, "", dstfd, "", MOVE_MOUNT_F_EMPTY_PATH | 0x40 /* T_EMPTY_PATH */) < 0)
    return cell_error(err, errno, "move the mount of %s", m->source);
  return 0;
}

/* Parse /proc/self/cgroup into "controllers:path" lines for the cgroup mount. */
static int reopen_dir(int rootfd, const char *path, char *target, size_t tlen, struct cell_err *err) {
  int p = cell_open_in_root(rootfd, path, false, false, err);
  if (p < 0) return -1;
  snprintf(target, tlen, "/proc/self/fd/%d", p);
  int d = open(target, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  int e = errno;
  close(p);
  if (d < 0) return cell_error(err, e, "open %s", path);
  snprintf(target, tlen, "/proc/self/fd/%d", d);
  return d;
}

/* sysinit: systemd mode, the name=systemd and cgroup2 hierarchies stay writable */
static int mount_cgroup_v1(const struct cell_mount *m, int rootfd, int dstfd, unsigned long flags, bool cgns,
                           bool sysinit, struct cell_err *err) {
  char target[64];
  FDPATH(target, dstfd);
  if (mount("tmpfs", target, "tmpfs", (flags & ~MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
    return cell_error(err, errno, "mount tmpfs on %s", m->destination);
  /* the fd still names the directory under the new tmpfs: resolve again */
  int dir = reopen_dir(rootfd, m->destination, target, sizeof target, err);
  if (dir < 0) return -1;
  FILE *f = fopen("/proc/self/cgroup", "re");
  if (!f) {
    close(dir);
    return cell_error(err, errno, "open /proc/self/cgroup");
  }
  char line[4096];
  int rc = 0;
  while (rc == 0 && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c1 = *c2 = 0;
    const char *ctrls = c1 + 1, *path = c2 + 1;
    char name[256], host[PATH_MAX];
    const char *fstype = "cgroup";
    char data[300];
    if (!*ctrls) {
      snprintf(name, sizeof name, "unified");
      fstype = "cgroup2";
      data[0] = 0;
    } else if (!strncmp(ctrls, "name=", 5)) {
      snprintf(name, sizeof name, "%s", ctrls + 5);
      snprintf(data, sizeof data, "none,%s", ctrls);
    } else {
      snprintf(name, sizeof name, "%s", ctrls);
      snprintf(data, sizeof data, "%s", ctrls);
    }
    snprintf(host, sizeof host, "/sys/fs/cgroup/%s", name);
    struct stat sb;
    if (stat(host, &sb) < 0) continue; /* hierarchy not mounted on the host */
    if (!strcmp(name, "unified") && !ctrls[0] && access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) continue;
    if (mkdirat(dir, name, 0755) < 0 && errno != EEXIST) {
      rc = cell_error(err, errno, "mkdir %s/%s", m->destination, name);
      break;
    }
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/%s", target, name);
    if (cgns) {
      if (mount("cgroup", sub, fstype, flags & ~MS_RDONLY, data[0] ? data : NULL) < 0)
        rc = cell_error(err, errno, "mount %s cgroup on %s/%s", name, m->destination, name);
    } else {
      char src[PATH_MAX * 2];
      snprintf(src, sizeof src, "%s%s", host, path);
      if (mount(src, sub, NULL, MS_BIND | MS_REC, NULL) < 0)
        rc = cell_error(err, errno, "bind %s on %s/%s", src, m->destination, name);
    }
    bool writable = sysinit && (!strcmp(name, "systemd") || !strcmp(name, "unified"));
    if (rc == 0 && (flags & MS_RDONLY) && !writable && remount_flags(sub, flags | MS_RDONLY, NULL) < 0)
      rc = cell_error(err, errno, "remount %s/%s read-only", m->destination, name);
    /* cpu,cpuacct style combined hierarchies get per-controller symlinks */
    if (rc == 0 && strchr(name, ',')) {
      char tmp[256];
      snprintf(tmp, sizeof tmp, "%s", name);
      for (char *save, *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        symlinkat(name, dir, tok);
    }
  }
  fclose(f);
  if (rc == 0 && (flags & MS_RDONLY) && remount_flags(target, flags | MS_RDONLY, NULL) < 0)
    rc = cell_error(err, errno, "remount %s read-only", m->destination);
  close(dir);
  return rc;
}

/* A bind source: a file or a directory, and whether to attach the runtime's
 * copy (always for idmapped mounts, and for a source the mapped root cannot
 * reach; otherwise the init's own bind keeps the source's locked flags). */
static int bind_source(const struct cell_mount *m, size_t idx, bool *as_file, bool *use_tree, struct cell_err *err) {
  struct stat sb;
  *use_tree = m->tree_fd >= 0 && m->idmap;
  int r = *use_tree ? fstat(m->tree_fd, &sb) : stat(m->source, &sb);
  if (r < 0 && (errno == EACCES || errno == EPERM) && m->tree_fd >= 0) {
    *use_tree = true;
    r = fstat(m->tree_fd, &sb);
  }
  if (r < 0) return cell_error(err, errno, "mounts[%zu].source: stat %s", idx, m->source);
  *as_file = !S_ISDIR(sb.st_mode);
  return 0;
}

static int do_mount(const struct cell_spec *s, size_t idx, int rootfd, struct cell_err *err) {
  const struct cell_mount *m = &s->mounts[idx];
  bool as_file = false, use_tree = false;
  if (m->bind && bind_source(m, idx, &as_file, &use_tree, err) < 0) return -1;
  const char *type = m->type ? m->type : "none";
  bool special = !m->bind && (!strcmp(type, "proc") || !strcmp(type, "sysfs"));
  int dst = cell_open_in_root(rootfd, m->destination, true, as_file, err);
  if (dst < 0) return cell_error_wrap(err, "mounts[%zu].destination", idx);
  char target[64];
  FDPATH(target, dst);
  int rc = 0;
  if (special) {
    struct stat sb;
    if (fstat(dst, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
      close(dst);
      return cell_error(err, 0, "mounts[%zu].destination: %s must be mounted on an ordinary directory", idx,
                        m->destination);
    }
  }
  unsigned long flags = m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  bool need_remount = false;
  if (m->bind) {
    if (use_tree) {
      rc = mount_tree(m, dst, err);
      if (rc < 0) cell_error_wrap(err, "mounts[%zu]", idx);
    } else if (mount(m->source, target, NULL, MS_BIND | (m->rec ? MS_REC : 0), NULL) < 0) {
      rc = cell_error(err, errno, "mounts[%zu]: bind %s on %s", idx, m->source, m->destination);
    }
    need_remount = flags != 0;
  } else if (!strcmp(type, "cgroup") || !strcmp(type, "cgroup2")) {
    bool cgns = cell_spec_has_ns(s, CLONE_NEWCGROUP);
    bool v2host = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
    if (v2host || !strcmp(type, "cgroup2")) {
      if (s->sysinit) flags &= ~MS_RDONLY; /* systemd mode: its own cgroup2 subtree */
      if (cgns) {
        if (mount("cgroup2", target, "cgroup2", flags, m->data) < 0)
          rc = cell_error(err, errno, "mounts[%zu]: mount cgroup2 on %s", idx, m->destination);
      } else {
        char self[PATH_MAX] = "", src[PATH_MAX * 2];
        FILE *f = fopen("/proc/self/cgroup", "re");
        char line[4096];
        while (f && fgets(line, sizeof line, f))
          if (!strncmp(line, "0::", 3)) snprintf(self, sizeof self, "%s", line + 3);
        if (f) fclose(f);
        self[strcspn(self, "\n")] = 0;
        snprintf(src, sizeof src, "%s%s", v2host ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified", self);
        if (mount(src, target, NULL, MS_BIND | MS_REC, NULL) < 0)
          rc = cell_error(err, errno, "mounts[%zu]: bind %s on %s", idx, src, m->destination);
        need_remount = flags != 0;
      }
    } else {
      rc = mount_cgroup_v1(m, rootfd, dst, flags, cgns, s->sysinit, err);
      if (rc < 0) cell_error_wrap(err, "mounts[%zu]", idx);
    }
  } else {
    int olddir = -1;
    if (m->copyup) olddir = open(target, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (mount(m->source ? m->source : type, target, type, flags, m->data) < 0) {
      rc = cell_error(err, errno, "mounts[%zu]: mount %s (%s) on %s with options \"%s\"", idx,
                      m->source ? m->source : type, type, m->destination, m->data ? m->data : "");
    } else if (olddir >= 0) {
      char nt[64];
      int nd = reopen_dir(rootfd, m->destination, nt, sizeof nt, err);
      if (nd < 0) rc = -1;
      else {
        if (copy_tree(olddir, nd) < 0) rc = cell_error(err, errno, "mounts[%zu]: tmpcopyup into %s", idx, m->destination);
        close(nd);
      }
    }
    if (olddir >= 0) close(olddir);
  }
  /* The fd names the directory under the new mount: resolve it again to reach the mount itself. */
  if (rc == 0 && (need_remount || m->propagation)) {
    close(dst);
    dst = cell_open_in_root(rootfd, m->destination, false, false, err);
    if (dst < 0) return cell_error_wrap(err, "mounts[%zu].destination", idx);
    FDPATH(target, dst);
  }
  if (rc == 0 && need_remount && remount_flags(target, flags, NULL) < 0)
    rc = cell_error(err, errno, "mounts[%zu]: remount %s with its options", idx, m->destination);
  if (rc == 0 && m->propagation && mount(NULL, target, NULL, m->propagation, NULL) < 0)
    rc = cell_error(err, errno, "mounts[%zu]: set propagation of %s", idx, m->destination);
  if (rc == 0 && (m->attr_set || m->attr_clr)) {
    /* re-open: the fd may point below the new mount */
    int nfd = cell_open_in_root(rootfd, m->destination, false, false, err);
    if (nfd < 0) rc = -1;
    else {
      struct cell_mount_attr a = {.attr_set = m->attr_set, .attr_clr = m->attr_clr};
      if (sys_mount_setattr(nfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a) < 0)
        rc = cell_error(err, errno, "mounts[%zu]: recursive mount attributes on %s", idx, m->destination);
      close(nfd);
    }
  }
  close(dst);
  return rc;
}

static const struct {
  const char *path;
  unsigned major, minor;
} default_devs[] = {
    {"/dev/null", 1, 3}, {"/dev/zero", 1, 5}, {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

static int make_device(int rootfd, const char *path, char type, unsigned major, unsigned minor, mode_t perm,
                       bool has_owner, uid_t uid, gid_t gid, bool bind, const char *field, struct cell_err *err) {
  mode_t fmt = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
  /* parent directory inside the root */
  char buf[PATH_MAX];
  snprintf(buf, sizeof buf, "%s", path);
  char *slash = strrchr(buf, '/');
  *slash = 0;
  int parent = cell_open_in_root(rootfd, buf[0] ? buf : "/", true, false, err);
  if (parent < 0) return cell_error_wrap(err, "%s", field);
  char pp[64];
  FDPATH(pp, parent);
  int pdir = open(pp, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  close(parent);
  if (pdir < 0) return cell_error(err, errno, "%s: open parent of %s", field, path);
  const char *base = slash + 1;
  int rc = 0;
  struct stat sb;
  if (fstatat(pdir, base, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(sb.st_mode) || S_ISDIR(sb.st_mode)) {
      close(pdir);
      return cell_error(err, 0, "%s: %s exists and is not a device node", field, path);
    }
    if (!bind) unlinkat(pdir, base, 0);
  }
  if (bind) {
    int f = openat(pdir, base, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (f < 0) rc = cell_error(err, errno, "%s: create %s", field, path);
    else {
      char t[64];
      FDPATH(t, f);
      struct stat hs;
      /* missing on the host: the empty file stays, as crun does */
      if (stat(path, &hs) < 0 && errno == ENOENT) cell_debug("%s: %s is not on the host: an empty file", field, path);
      else if (mount(path, t, NULL, MS_BIND, NULL) < 0) rc = cell_error(err, errno, "%s: bind %s", field, path);
      close(f);
    }
  } else {
    if (mknodat(pdir, base, fmt | (perm & 07777), makedev(major, minor)) < 0)
      rc = cell_error(err, errno, "%s: mknod %s", field, path);
    else {
      fchmodat(pdir, base, perm & 07777, 0);
      if (has_owner && fchownat(pdir, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        rc = cell_error(err, errno, "%s: chown %s", field, path);
    }
  }
  close(pdir);
  return rc;
}

static int setup_dev(const struct cell_spec *s, int rootfd, bool in_userns, struct cell_err *err) {
  for (size_t i = 0; i < sizeof default_devs / sizeof *default_devs; i++) {
    bool overridden = false;
    for (size_t k = 0; k < s->ndevices; k++)
      if (!strcmp(s->devices[k].path, default_devs[i].path)) overridden = true;
    if (overridden) continue;
    if (make_device(rootfd, default_devs[i].path, 'c', default_devs[i].major, default_devs[i].minor, 0666, false, 0,
                    0, in_userns, "default /dev", err) < 0)
      return -1;
  }
  for (size_t k = 0; k < s->ndevices; k++) {
    const struct cell_device *d = &s->devices[k];
    char field[64];
    snprintf(field, sizeof field, "linux.devices[%zu]", k);
    if (make_device(rootfd, d->path, d->type == 'u' ? 'c' : d->type, (unsigned)d->major, (unsigned)d->minor,
                    d->has_mode ? d->mode : 0666, d->has_uid || d->has_gid, d->uid, d->gid, in_userns, field, err) < 0)
      return -1;
  }
  /* links */
  int dev = cell_open_in_root(rootfd, "/dev", true, false, err);
  if (dev < 0) return -1;
  char dp[64];
  FDPATH(dp, dev);
  int ddir = open(dp, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  close(dev);
  if (ddir < 0) return cell_error(err, errno, "open /dev in the rootfs");
  static const char *links[][2] = {{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
                                   {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
                                   {"pts/ptmx", "ptmx"}};
  for (size_t i = 0; i < 5; i++) {
    if (!strcmp(links[i][1], "ptmx")) unlinkat(ddir, "ptmx", 0);
    if (symlinkat(links[i][0], ddir, links[i][1]) < 0 && errno != EEXIST) {
      int e = errno;
      close(ddir);
      return cell_error(err, e, "create /dev/%s link", links[i][1]);
    }
  }
  if (access("/proc/kcore", F_OK) == 0) symlinkat("/proc/kcore", ddir, "core");
  mkdirat(ddir, "pts", 0755);
  mkdirat(ddir, "shm", 01777);
  close(ddir);
  return 0;
}

static bool is_cgroup_mount(const struct cell_mount *m) {
  return !m->bind && m->type && (!strcmp(m->type, "cgroup") || !strcmp(m->type, "cgroup2"));
}

/* A procfs of the init's own, not attached anywhere, for a container whose
 * config mounts no /proc (the setup after pivot_root needs /proc/self/fd).
 * Made before pivot_root: in a user namespace the kernel allows a new proc
 * only while one is fully visible. */
static int detached_proc = -1;

static int open_detached_proc(struct cell_err *err) {
  if (detached_proc >= 0) return 0;
  int fs = (int)syscall(SYS_fsopen, "proc", 1 /* FSOPEN_CLOEXEC */);
  if (fs < 0) return cell_error(err, errno, "no /proc in the container: fsopen proc");
  int m = -1;
  if (syscall(SYS_fsconfig, fs, 6 /* FSCONFIG_CMD_CREATE */, NULL, NULL, 0) == 0)
    m = (int)syscall(SYS_fsmount, fs, 1 /* FSMOUNT_CLOEXEC */, 0x8 | 0x2 | 0x4 /* noexec, nosuid, nodev */);
  int e = errno;
  close(fs);
  if (m < 0) return cell_error(err, e, "no /proc in the container: mount a private proc");
  detached_proc = m;
  return 0;
}

int cell_rootfs_mount_all(const struct cell_spec *s, bool in_userns, cell_before_cgroup_fn before_cgroup, void *arg,
                          struct cell_err *err) {
  /* pivot_root refuses a shared root or new root, and an unbindable tree cannot
   * be bound onto itself: those two are set on the container's / after the
   * pivot (cell_rootfs_pivot), as crun does; until then / is a slave/private. */
  unsigned long prop = s->rootfs_propagation ? s->rootfs_propagation : (MS_SLAVE | MS_REC);
  if (prop & MS_SHARED) prop = MS_SLAVE;
  if (prop & MS_UNBINDABLE) prop = MS_PRIVATE;
  /* Without a mount namespace of its own, "/" is the host's: leave it alone. */
  if (cell_spec_has_ns(s, CLONE_NEWNS) && mount(NULL, "/", NULL, prop | MS_REC, NULL) < 0)
    return cell_error(err, errno, "linux.rootfsPropagation: set propagation of /");
  if (mount(s->rootfs, s->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return cell_error(err, errno, "root.path: bind %s onto itself", s->rootfs);
  int rootfd = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return cell_error(err, errno, "root.path: open %s", s->rootfs);
  int rc = 0;
  bool dev_mounted = false;
  bool placed = !before_cgroup;
  for (size_t i = 0; i < s->nmounts && rc == 0; i++) {
    if (!placed && is_cgroup_mount(&s->mounts[i])) {
      placed = true;
      if ((rc = before_cgroup(arg, err)) < 0) break;
    }
    rc = do_mount(s, i, rootfd, err);
    if (!strcmp(s->mounts[i].destination, "/dev")) dev_mounted = true;
  }
  (void)dev_mounted;
  if (rc == 0 && !placed) rc = before_cgroup(arg, err);
  if (rc == 0) rc = setup_dev(s, rootfd, in_userns, err);
  if (rc == 0) rc = cell_fsview_bind(s, rootfd, err);
  bool has_proc = false;
  for (size_t i = 0; i < s->nmounts; i++)
    has_proc = has_proc || (s->mounts[i].type && !strcmp(s->mounts[i].type, "proc"));
  if (rc == 0 && !has_proc) rc = open_detached_proc(err);
  close(rootfd);
  return rc;
}

int cell_rootfs_pivot(const struct cell_spec *s, bool no_pivot, struct cell_err *err) {
  if (chdir(s->rootfs) < 0) return cell_error(err, errno, "root.path: chdir %s", s->rootfs);
  if (!cell_spec_has_ns(s, CLONE_NEWNS)) {
    /* the runtime's mount namespace: neither pivot_root nor move the rootfs */
    if (chroot(".") < 0) return cell_error(err, errno, "chroot %s", s->rootfs);
  } else if (no_pivot) {
    if (mount(s->rootfs, "/", NULL, MS_MOVE, NULL) < 0) return cell_error(err, errno, "move rootfs to /");
    if (chroot(".") < 0) return cell_error(err, errno, "chroot %s", s->rootfs);
  } else {
    int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (oldroot < 0) return cell_error(err, errno, "open old root");
    if (syscall(SYS_pivot_root, ".", ".") < 0) {
      int e = errno;
      close(oldroot);
      return cell_error(err, e, "pivot_root into %s", s->rootfs);
    }
    if (fchdir(oldroot) < 0 || mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 || umount2(".", MNT_DETACH) < 0) {
      int e = errno;
      close(oldroot);
      return cell_error(err, e, "detach the old root");
    }
    close(oldroot);
  }
  if (chdir("/") < 0) return cell_error(err, errno, "chdir /");
  return 0;
}

/* Open /proc/self/fd/FD again (e.g. O_WRONLY of an O_PATH fd), also without a /proc mount. */
/* The private proc of a container without /proc (-1 if none): the init keeps it
 * open across its fd cleanup, for the exec fifo. */
int cell_detached_proc_fd(void) { return detached_proc; }

int cell_reopen_fd(int fd, int flags, struct cell_err *err) {
  char p[64];
  snprintf(p, sizeof p, "self/fd/%d", fd);
  int r = detached_proc >= 0 ? openat(detached_proc, p, flags) : -1;
  if (detached_proc < 0) {
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    r = open(p, flags);
  }
  if (r < 0) return cell_error(err, errno, "open /proc/self/fd/%d", fd);
  return r;
}

static int open_no_magic(const char *path) {
  return cell_openat2(AT_FDCWD, path, O_PATH | O_CLOEXEC | O_NOFOLLOW, RESOLVE_NO_MAGICLINKS);
}

/* Finalize's paths below /proc: the container's, or (no /proc mounted) the
 * detached one as the working directory, named relative to it. */
static const char *proc_pfx = "/proc";
#undef FDPATH
#define FDPATH(buf, fd) snprintf((buf), sizeof(buf), "%s/self/fd/%d", proc_pfx, (fd))

static int finalize(const struct cell_spec *s, struct cell_err *err);

int cell_rootfs_finalize(const struct cell_spec *s, struct cell_err *err) {
  if (access("/proc/self/fd", F_OK) < 0) {
    if (open_detached_proc(err) < 0) return -1;
    if (fchdir(detached_proc) < 0) return cell_error(err, errno, "chdir to a private proc");
    proc_pfx = ".";
  }
  int rc = finalize(s, err);
  if (proc_pfx[0] == '.' && chdir("/") < 0 && rc == 0) rc = cell_error(err, errno, "chdir /");
  proc_pfx = "/proc";
  return rc;
}

static int finalize(const struct cell_spec *s, struct cell_err *err) {
  for (size_t i = 0; i < s->nsysctl; i++) {
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/sys/", proc_pfx);
    snprintf(path + n, sizeof path - (size_t)n, "%s", s->sysctl[i].key);
    for (char *p = path + n; *p; p++)
      if (*p == '.') *p = '/';
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return cell_error(err, errno, "linux.sysctl[\"%s\"]: open %s", s->sysctl[i].key, path);
    size_t len = strlen(s->sysctl[i].value);
    ssize_t w = write(fd, s->sysctl[i].value, len);
    int e = errno;
    close(fd);
    if (w != (ssize_t)len) return cell_error(err, w < 0 ? e : EIO, "linux.sysctl[\"%s\"]: write \"%s\"", s->sysctl[i].key, s->sysctl[i].value);
  }
  for (char **p = s->masked_paths; p && *p; p++) {
    int fd = open_no_magic(*p);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      return cell_error(err, errno, "linux.maskedPaths: open %s", *p);
    }
    struct stat sb;
    fstat(fd, &sb);
    char t[64];
    FDPATH(t, fd);
    int r;
    if (S_ISDIR(sb.st_mode)) r = mount("tmpfs", t, "tmpfs", MS_RDONLY, "size=0k");
    else if (S_ISLNK(sb.st_mode)) r = 0; /* a symlink is not followed out */
    else r = mount("/dev/null", t, NULL, MS_BIND, NULL);
    int e = errno;
    close(fd);
    if (r < 0) return cell_error(err, e, "linux.maskedPaths: mask %s", *p);
  }
  for (char **p = s->readonly_paths; p && *p; p++) {
    int fd = open_no_magic(*p);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      return cell_error(err, errno, "linux.readonlyPaths: open %s", *p);
    }
    char t[64];
    FDPATH(t, fd);
    int r = mount(t, t, NULL, MS_BIND | MS_REC, NULL);
    int e = errno;
    close(fd);
    if (r == 0) {
      r = remount_flags(*p, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
      e = errno;
    }
    if (r < 0) return cell_error(err, e, "linux.readonlyPaths: make %s read-only", *p);
  }
  if (s->root_readonly) {
    /* A missing process.cwd is made now, while the root is still writable (as runc does). */
    int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    int cwd = root < 0 ? -1 : cell_open_in_root(root, s->cwd, true, false, err);
    if (root >= 0) close(root);
    if (cwd < 0) return root < 0 ? cell_error(err, errno, "open /") : cell_error_wrap(err, "process.cwd");
    close(cwd);
  }
  if (s->root_readonly && remount_flags("/", MS_RDONLY, NULL) < 0)
    return cell_error(err, errno, "root.readonly: remount / read-only");
  /* shared and unbindable last: pivot_root refuses a shared root, and the
   * masked and read-only paths above are bind mounts (see cell_rootfs_mount_all). */
  unsigned long prop = s->rootfs_propagation;
  if ((prop & (MS_SHARED | MS_UNBINDABLE)) && mount(NULL, "/", NULL, prop, NULL) < 0)
    return cell_error(err, errno, "linux.rootfsPropagation: apply to the container root");
  return 0;
}
