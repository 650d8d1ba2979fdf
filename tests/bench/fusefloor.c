/* fusefloor - the FUSE round-trip floor: one file, "floor", whose content is
 * a constant, served by libfuse3's low-level API with a multithreaded loop,
 * direct_io like cellfs.  usage: fusefloor [-1] MOUNTPOINT (foreground)
 * -1: one thread (fuse_session_loop) instead of libfuse's multithreaded
 * loop, whose FIFO wakeup of idle threads costs a thread switch per request. */
#define FUSE_USE_VERSION 34
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char text[] = "MemTotal:       24684084 kB\nMemFree:        23375632 kB\n";

static void attr(fuse_ino_t ino, struct stat *st) {
  memset(st, 0, sizeof(*st));
  st->st_ino = ino;
  st->st_mode = ino == 1 ? S_IFDIR | 0555 : S_IFREG | 0444;
  st->st_nlink = 1;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  if (parent != 1 || strcmp(name, "floor") != 0) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  struct fuse_entry_param e;
  memset(&e, 0, sizeof(e));
  e.ino = 2;
  e.attr_timeout = e.entry_timeout = 3600;
  attr(2, &e.attr);
  fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)fi;
  struct stat st;
  attr(ino, &st);
  fuse_reply_attr(req, &st, 3600);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  fi->direct_io = 1;
  fi->noflush = 1;
  fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi) {
  (void)ino;
  (void)fi;
  size_t len = sizeof(text) - 1;
  if ((size_t)off >= len) {
    fuse_reply_buf(req, NULL, 0);
    return;
  }
  size_t n = len - (size_t)off;
  fuse_reply_buf(req, text + off, n < size ? n : size);
}

static const struct fuse_lowlevel_ops ops = {
    .lookup = op_lookup, .getattr = op_getattr, .open = op_open, .read = op_read};

int main(int argc, char **argv) {
  int single = argc == 3 && strcmp(argv[1], "-1") == 0;
  if (argc != 2 + single) {
    fprintf(stderr, "usage: fusefloor [-1] MOUNTPOINT\n");
    return 2;
  }
  const char *mnt = argv[argc - 1];
  char *fargv[] = {argv[0], "-o", "allow_other", NULL};
  struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
  struct fuse_session *se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
  if (!se || fuse_session_mount(se, mnt) != 0) return 1;
  fuse_set_signal_handlers(se);
  struct fuse_loop_config cfg = {.clone_fd = 0, .max_idle_threads = 10};
  int rc = single ? fuse_session_loop(se) : fuse_session_loop_mt(se, &cfg);
  fuse_remove_signal_handlers(se);
  fuse_session_unmount(se);
  fuse_session_destroy(se);
  return rc ? 1 : 0;
}
