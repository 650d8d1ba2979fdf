/* main.c - the cellfs command line: options parsed into fsv_opts, then
 * fsv_run (fsview/) mounts and serves. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsview/fs.h"
#include "lib/fsview_files.h"

#include "lib/version.h"

/* "  DIR/{a,b,c}" from one of fsview_files.h's lists */
#define LISTED(n) n,
static void print_files(FILE *f, const char *dir, const char *const *names, size_t n) {
  fprintf(f, "  %s/{", dir);
  for (size_t i = 0; i < n; i++) fprintf(f, "%s%s", i ? "," : "", names[i]);
  fputs("}\n", f);
}

static void usage(FILE *f) {
  static const char *const procs[] = {CELL_FSVIEW_PROC_FILES(LISTED)}, *const cpus[] = {CELL_FSVIEW_CPU_FILES(LISTED)};
  fputs("usage: cellfs [OPTIONS] [MOUNTPOINT]\n"
        "Serve per-cgroup views of /proc and /sys files (an lxcfs replacement).\n"
        "MOUNTPOINT defaults to " CELL_FSVIEW_DEFAULT_MOUNT ".  Files served:\n",
        f);
  print_files(f, "proc", procs, sizeof procs / sizeof *procs);
  print_files(f, CELL_FSVIEW_CPU_DIR, cpus, sizeof cpus / sizeof *cpus);
  fprintf(f,
          "Options:\n"
          "  -d, --daemon          detach once mounted (default: foreground)\n"
          "  -f, --foreground      stay in the foreground (default)\n"
          "      --no-quota-view   count every cpuset CPU, ignoring the CPU quota\n"
          "  -t, --threads N       threads serving requests (default 8)\n"
          "      --pid-cache-ms N  how long a reader's cgroup is cached (default 1000)\n"
          "      --cache-ms N      how long a file's text is shared by the readers of one\n"
          "                        cgroup (default 100; 0: render on every open)\n"
          "  -v, --verbose         log worker restarts and read errors (twice: FUSE debug)\n"
          "Signals: SIGHUP upgrades in place (execs the binary at the path cellfs was\n"
          "started from, keeping the mount); SIGTERM/SIGINT unmount and exit.  A new\n"
          "cellfs replaces a dead cellfs mount at MOUNTPOINT and re-binds its files in\n"
          "running containers.\n"
          "  -h, --help            this text\n"
          "  -V, --version         print the version\n");
}

int main(int argc, char **argv) {
  struct fsv_opts o = {
      .mountpoint = CELL_FSVIEW_DEFAULT_MOUNT, .quota_view = 1, .threads = 8, .pid_cache_ms = 1000,
      .cache_ms = 100};
  static const struct option lo[] = {
      {"daemon", no_argument, NULL, 'd'},       {"foreground", no_argument, NULL, 'f'},
      {"no-quota-view", no_argument, NULL, 'Q'}, {"threads", required_argument, NULL, 't'},
      {"pid-cache-ms", required_argument, NULL, 'P'}, {"cache-ms", required_argument, NULL, 'C'},
      {"verbose", no_argument, NULL, 'v'},
      {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "dft:vhV", lo, NULL)) != -1) {
    char *end;
    long v;
    switch (c) {
    case 'd': o.daemon = 1; break;
    case 'f': o.daemon = 0; break;
    case 'Q': o.quota_view = 0; break;
    case 't':
      v = strtol(optarg, &end, 10);
      if (*end || v < 1 || v > 64) {
        fprintf(stderr, "cellfs: --threads: want 1..64, got '%s'\n", optarg);
        return 2;
      }
      o.threads = (int)v;
      break;
    case 'P':
      v = strtol(optarg, &end, 10);
      if (*end || v < 1 || v > 3600000) {
        fprintf(stderr, "cellfs: --pid-cache-ms: want 1..3600000, got '%s'\n", optarg);
        return 2;
      }
      o.pid_cache_ms = (unsigned)v;
      break;
    case 'C':
      v = strtol(optarg, &end, 10);
      if (!*optarg || *end || v < 0 || v > 60000) {
        fprintf(stderr, "cellfs: --cache-ms: want 0..60000, got '%s'\n", optarg);
        return 2;
      }
      o.cache_ms = (unsigned)v;
      break;
    case 'v': o.debug++; break;
    case 'h': usage(stdout); return 0;
    case 'V': printf("cellfs version %s\ncommit: %s\n", CELL_VERSION, CELL_COMMIT); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (optind < argc) o.mountpoint = argv[optind++];
  if (optind < argc) {
    fprintf(stderr, "cellfs: unexpected argument '%s'\n", argv[optind]);
    usage(stderr);
    return 2;
  }
  if (o.mountpoint[0] != '/') {
    fprintf(stderr, "cellfs: MOUNTPOINT must be an absolute path, got '%s'\n", o.mountpoint);
    return 2;
  }
  struct cell_err err = {0};
  if (fsv_run(&o, argv, &err) < 0) {
    fprintf(stderr, "cellfs: %s\n", err.msg);
    return 1;
  }
  return 0;
}
