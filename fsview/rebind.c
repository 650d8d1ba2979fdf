/* rebind.c - bring the views of running containers back after cellfs died.
 *
 * When the whole cellfs (supervisor and worker) dies, the kernel aborts
 * its FUSE connection: the mount at the mountpoint and every bind of its
 * files inside a container answer ENOTCONN for as long as they exist.  A new
 * cellfs therefore
 *   1. lazily detaches dead cellfs mounts stacked on its mountpoint before
 *      it mounts (fsv_detach_dead), and
 *   2. once it serves, replaces every dead bind of its files in every mount
 *      namespace (fsv_rebind_all): it scans /proc for mount namespaces
 *      (one process each), reads their mountinfo for fuse.cellfs mounts of
 *      another connection, makes a detached copy of the same file of the
 *      new mount (open_tree OPEN_TREE_CLONE), and in a child that entered
 *      the namespace (setns) and the process's root, moves the copy
 *      beneath the dead bind (move_mount MOVE_MOUNT_BENEATH) and detaches
 *      the dead bind: readers see ENOTCONN, then the view, never the real
 *      /proc file.
 * This needs no list of containers and works for every runtime that binds
 * the files (cell, or runc/crun with a sidecar spec).  A bind whose mount
 * still answers (another live cellfs) is left alone.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsview/fs.h"
#include "lib/mountinfo.h"

#ifndef MOVE_MOUNT_BENEATH
#define MOVE_MOUNT_BENEATH 0x00000200
#endif

/* The mount at path belongs to an aborted FUSE connection.  statfs always
 * asks the server (stat may answer from cached attributes). */
static int dead(const char *path) {
  struct statfs sf;
  return statfs(path, &sf) < 0 && errno == ENOTCONN;
}

int fsv_detach_dead(const char *mp) {
  int n = 0;
  /* a dead FUSE mount answers ENOTCONN; several may be stacked */
  while (n < 64 && dead(mp)) {
    if (umount2(mp, MNT_DETACH) < 0) return -1;
    n++;
  }
  return n;
}

struct bind {
  char *root;   /* path inside cellfs ("/proc/meminfo") */
  char *target; /* mount point, relative to the process's root */
};

/* fuse.cellfs mounts of another connection than dev in pid's mountinfo */
static int stale_binds(pid_t pid, dev_t dev, struct bind **out) {
  char p[64];
  snprintf(p, sizeof(p), "/proc/%d/mountinfo", (int)pid);
  FILE *f = fopen(p, "re");
  if (!f) return -1;
  char *line = NULL;
  size_t cap = 0;
  int n = 0;
  *out = NULL;
  while (getline(&line, &cap, f) > 0) {
    struct cell_mountinfo mi;
    if (cell_mountinfo_parse(line, &mi) < 0 || strcmp(mi.fstype, "fuse.cellfs") != 0) continue;
    if (makedev(mi.major, mi.minor) == dev) continue;
    char *root = mi.root, *target = mi.point;
    /* a dead bind's dentry may have been invalidated: "/proc/meminfo//deleted" */
    size_t rl = strlen(root);
    if (rl > 9 && strcmp(root + rl - 9, "//deleted") == 0) root[rl - 9] = '\0';
    /* "/.self-<id>/proc/meminfo" (cell's binds), "/.g<group>/..." (re-binds) */
    const char *rel = root;
    if ((strncmp(root, "/.g", 3) == 0 || strncmp(root, "/.self-", 7) == 0) &&
        !(rel = strchr(root + 1, '/')))
      continue;
    if (fsv_kind_of(rel) < 0 || strcmp(rel, "/") == 0) continue; /* binds of our files only */
    struct bind *nb = realloc(*out, sizeof(**out) * (size_t)(n + 1));
    if (!nb) break;
    *out = nb;
    nb[n].root = strdup(rel);
    nb[n].target = strdup(target);
    if (!nb[n].root || !nb[n].target) {
      free(nb[n].root);
      free(nb[n].target);
      break;
    }
    n++;
  }
  free(line);
  fclose(f);
  return n;
}

/* In a child: enter pid's mount namespace and root, replace each dead
 * bind with the matching detached copy.  Returns how many were replaced. */
static int rebind_ns(pid_t pid, const struct bind *b, const int *tree, int n, int debug) {
  char p[64];
  snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int)pid);
  int nsfd = open(p, O_RDONLY | O_CLOEXEC);
  snprintf(p, sizeof(p), "/proc/%d/root", (int)pid);
  int rootfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (nsfd < 0 || rootfd < 0) return 0; /* the process exited meanwhile */
  pid_t c = fork();
  if (c < 0) return 0;
  if (c == 0) {
    int done = 0;
    if (setns(nsfd, CLONE_NEWNS) < 0 || fchdir(rootfd) < 0 || chroot(".") < 0) {
      if (debug) fprintf(stderr, "cellfs: rebind: enter the mounts of pid %d: %m\n", (int)pid);
      _exit(0);
    }
    for (int i = 0; i < n; i++) {
      if (tree[i] < 0 || !dead(b[i].target)) continue;
      /* the live copy goes beneath the dead bind, then the dead one is
       * detached: the path never shows the real /proc file in between.
       * Kernels without MOVE_MOUNT_BENEATH (< 6.5): stacked on top. */
      if (move_mount(tree[i], "", AT_FDCWD, b[i].target,
                     MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_BENEATH) == 0) {
        umount2(b[i].target, MNT_DETACH);
      } else if (move_mount(tree[i], "", AT_FDCWD, b[i].target, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
        if (debug)
          fprintf(stderr, "cellfs: rebind: pid %d: move cellfs%s onto %s: %m\n", (int)pid,
                  b[i].root, b[i].target);
        continue;
      }
      done++;
    }
    _exit(done > 255 ? 255 : done);
  }
  close(nsfd);
  close(rootfd);
  int status;
  while (waitpid(c, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 0;
}

/* The inode group of pid's container (see fs.c): its init's cgroup. */
static uint64_t group_of(struct fsv_cgtab *t, pid_t pid, struct fsv_tls *tls) {
  struct fsv_reader r;
  struct cell_err err = {0};
  if (!t || fsv_resolve(t, pid, &r, tls, &err) < 0) return 0;
  uint64_t g = r.cg ? r.cg->gid : 0;
  fsv_cg_put(t, r.cg);
  return g;
}

int fsv_rebind_all(const char *mp, int debug) {
  struct stat mst;
  if (stat(mp, &mst) < 0) return -1;
  DIR *d = opendir("/proc");
  if (!d) return -1;
  /* the new binds get the inodes of each container's group, as the binds
   * its runtime made (cellfs's own LOOKUPs would give cellfs's group) */
  struct fsv_host host;
  struct fsv_tls tls;
  memset(&tls, 0, sizeof(tls));
  struct cell_err herr = {0};
  int have_host = fsv_host_init(&host, NULL, NULL, &herr) == 0;
  struct fsv_cgtab *tab = have_host ? fsv_cgtab_new(&host, 1000000000ULL) : NULL;
  uint64_t *seen = NULL;
  size_t nseen = 0;
  int total = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!isdigit((unsigned char)de->d_name[0])) continue;
    pid_t pid = (pid_t)atoi(de->d_name);
    char p[64];
    struct stat nst;
    snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int)pid);
    if (stat(p, &nst) < 0) continue;
    int dup = 0;
    for (size_t i = 0; i < nseen && !dup; i++) dup = seen[i] == (uint64_t)nst.st_ino;
    if (dup) continue;
    uint64_t *ns = realloc(seen, sizeof(*seen) * (nseen + 1));
    if (!ns) break;
    seen = ns;
    seen[nseen++] = (uint64_t)nst.st_ino;
    struct bind *b;
    int n = stale_binds(pid, mst.st_dev, &b);
    if (n <= 0) continue;
    int *tree = calloc((size_t)n, sizeof(*tree));
    uint64_t g = group_of(tab, pid, &tls);
    for (int i = 0; tree && i < n; i++) {
      char src[8192];
      if (g) snprintf(src, sizeof(src), "%s/.g%012llx%s", mp, (unsigned long long)g, b[i].root);
      else snprintf(src, sizeof(src), "%s%s", mp, b[i].root);
      tree[i] = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
      if (tree[i] < 0 && debug) fprintf(stderr, "cellfs: rebind: open_tree %s: %m\n", src);
    }
    if (tree) total += rebind_ns(pid, b, tree, n, debug);
    for (int i = 0; i < n; i++) {
      if (tree && tree[i] >= 0) close(tree[i]);
      free(b[i].root);
      free(b[i].target);
    }
    free(tree);
    free(b);
  }
  closedir(d);
  free(seen);
  fsv_cgtab_free(tab);
  if (have_host) fsv_host_free(&host);
  fsv_buf_free(&tls.a);
  fsv_buf_free(&tls.b);
  fsv_buf_free(&tls.c);
  fsv_buf_free(&tls.out);
  return total;
}
