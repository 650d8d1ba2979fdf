/* bootstrap.c - `cellctl image bootstrap DIST[:SUITE]`: a Debian or Ubuntu
 * root filesystem with systemd, built by mmdebstrap from the apt sources the
 * host uses for that distribution, imported as an image (pull.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "images/pull.h"
#include "images/store_int.h"
#include "lib/file.h"

/* What the template holds beyond minbase: an init, a bus, and a network tool. */
#define BOOTSTRAP_INCLUDE "--include=systemd-sysv,dbus,iproute2,ca-certificates"

int img_bootstrap_parse(const char *spec, char *dist, size_t dsize, char *suite, size_t ssize, struct cell_err *err) {
  const char *colon = strchr(spec, ':');
  size_t dl = colon ? (size_t)(colon - spec) : strlen(spec);
  if (!dl || dl >= dsize) return cell_error(err, 0, "bootstrap %s: no distribution (debian or ubuntu)", spec);
  memcpy(dist, spec, dl);
  dist[dl] = '\0';
  const char *def;
  if (!strcmp(dist, "debian")) def = "bookworm";
  else if (!strcmp(dist, "ubuntu")) def = "noble";
  else return cell_error(err, 0, "bootstrap %s: distribution '%s' is not debian or ubuntu", spec, dist);
  const char *s = colon ? colon + 1 : def;
  size_t sl = strlen(s);
  if (!sl || sl >= ssize || sl > 32) return cell_error(err, 0, "bootstrap %s: empty or too long suite", spec);
  for (size_t i = 0; i < sl; i++)
    if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
      return cell_error(err, 0, "bootstrap %s: invalid suite '%s' (lowercase letters, digits, '-')", spec, s);
  memcpy(suite, s, sl + 1);
  return 0;
}

/* The host's apt source URIs (one-line .list and deb822 .sources files) for
 * archives whose path ends with /<suffix> ("debian", "debian-security", "ubuntu"). */
static bool uri_has_suffix(const char *uri, const char *suffix) {
  size_t ul = strlen(uri), sl = strlen(suffix);
  while (ul && uri[ul - 1] == '/') ul--;
  return ul > sl && uri[ul - sl - 1] == '/' && !strncmp(uri + ul - sl, suffix, sl);
}

static void scan_uris(const char *text, bool deb822, const char *suffix, char *out, size_t size) {
  char line[2048];
  for (const char *p = text; *p && !*out;) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), p);
    p += n + (nl ? 1 : 0);
    char *tok, *save = NULL, *uri = NULL;
    if (deb822) {
      if (strncasecmp(line, "URIs:", 5)) continue;
      for (tok = strtok_r(line + 5, " \t", &save); tok && !uri; tok = strtok_r(NULL, " \t", &save))
        if (uri_has_suffix(tok, suffix)) uri = tok;
    } else {
      tok = strtok_r(line, " \t", &save);
      if (!tok || strcmp(tok, "deb")) continue;
      while ((tok = strtok_r(NULL, " \t", &save)) && tok[0] == '[')
        while (tok && !strchr(tok, ']')) tok = strtok_r(NULL, " \t", &save);
      if (tok && uri_has_suffix(tok, suffix)) uri = tok;
    }
    if (uri && (!strncmp(uri, "http://", 7) || !strncmp(uri, "https://", 8) || !strncmp(uri, "file:/", 6)))
      snprintf(out, size, "%s", uri);
  }
}

static void host_uri(const char *suffix, char *out, size_t size) {
  out[0] = '\0';
  cleanup_free char *main_list = cell_read_fileat(AT_FDCWD, "/etc/apt/sources.list", NULL);
  if (main_list) scan_uris(main_list, false, suffix, out, size);
  cleanup_closedir DIR *d = opendir("/etc/apt/sources.list.d");
  struct dirent *de;
  while (d && !*out && (de = readdir(d))) {
    size_t n = strlen(de->d_name);
    bool deb822 = n > 8 && !strcmp(de->d_name + n - 8, ".sources");
    if (!deb822 && !(n > 5 && !strcmp(de->d_name + n - 5, ".list"))) continue;
    cleanup_free char *text = cell_read_fileat(dirfd(d), de->d_name, NULL);
    if (text) scan_uris(text, deb822, suffix, out, size);
  }
}

/* mmdebstrap's source lines: the host's mirror for dist (or the distribution's default). */
static int source_lines(const char *dist, const char *suite, char lines[3][600]) {
  char uri[512], sec[512];
  int n = 0;
  struct utsname u;
  bool pc = uname(&u) == 0 && (!strcmp(u.machine, "x86_64") || !strncmp(u.machine, "i6", 2));
  bool rolling = !strcmp(suite, "sid") || !strcmp(suite, "unstable") || !strcmp(suite, "experimental");
  if (!strcmp(dist, "debian")) {
    host_uri("debian", uri, sizeof uri);
    if (!*uri) snprintf(uri, sizeof uri, "http://deb.debian.org/debian");
    host_uri("debian-security", sec, sizeof sec);
    snprintf(lines[n++], 600, "deb %s %s main", uri, suite);
    if (!rolling) snprintf(lines[n++], 600, "deb %s %s-updates main", uri, suite);
    if (!rolling && *sec) snprintf(lines[n++], 600, "deb %s %s-security main", sec, suite);
  } else {
    host_uri(pc ? "ubuntu" : "ubuntu-ports", uri, sizeof uri);
    if (!*uri) snprintf(uri, sizeof uri, pc ? "http://archive.ubuntu.com/ubuntu" : "http://ports.ubuntu.com/ubuntu-ports");
    snprintf(lines[n++], 600, "deb %s %s main universe", uri, suite);
    snprintf(lines[n++], 600, "deb %s %s-updates main universe", uri, suite);
  }
  return n;
}

/* fork+execvp argv; the child dies with us, reads /dev/null and writes to our stderr. */
static int run_tool(char **argv, const char *what, struct cell_err *err) {
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0) return cell_error(err, errno, "%s: pipe", what);
  pid_t pid = fork();
  if (pid < 0) {
    close(pfd[0]);
    close(pfd[1]);
    return cell_error(err, errno, "%s: fork", what);
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nul >= 0) dup2(nul, 0);
    dup2(2, 1);
    /* nothing of the caller's beyond stdio: apt's own fd plumbing (cat >&11)
     * breaks on fds a caller such as bats leaves open */
    syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
    execvp(argv[0], argv);
    int e = errno;
    (void)!write(pfd[1], &e, sizeof e);
    _exit(127);
  }
  close(pfd[1]);
  int e = 0, st;
  ssize_t n = read(pfd[0], &e, sizeof e);
  close(pfd[0]);
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return cell_error(err, errno, "%s: waitpid", what);
  if (n == (ssize_t)sizeof e)
    return cell_error(err, e, "%s: cannot run %s%s", what, argv[0], e == ENOENT ? " (apt-get install mmdebstrap)" : "");
  if (WIFSIGNALED(st)) return cell_error(err, 0, "%s: %s killed by signal %d", what, argv[0], WTERMSIG(st));
  if (WEXITSTATUS(st)) return cell_error(err, 0, "%s: %s exited with status %d", what, argv[0], WEXITSTATUS(st));
  return 0;
}

int img_bootstrap(const char *root, const char *spec, const char *name, char *id_out, size_t id_size,
                  struct cell_err *err) {
  char dist[16], suite[40], what[80], lines[3][600], out[PATH_MAX], defname[64], id[72];
  if (img_bootstrap_parse(spec, dist, sizeof dist, suite, sizeof suite, err) < 0) return -1;
  snprintf(what, sizeof what, "bootstrap %s:%s", dist, suite);
  snprintf(defname, sizeof defname, "%s:%s", dist, suite);
  static const char ubuntu_keyring[] = "/usr/share/keyrings/ubuntu-archive-keyring.gpg";
  if (!strcmp(dist, "ubuntu") && access(ubuntu_keyring, R_OK) < 0)
    return cell_error(err, errno, "%s: %s (apt-get install ubuntu-keyring)", what, ubuntu_keyring);
  struct img_store *s = NULL;
  if (img_store_open(root, &s, err) < 0) return cell_error_wrap(err, "%s", what);
  struct img_stage st = {.fd = -1};
  int ret = -1;
  if (img_stage_new(s, &st, err) < 0) goto out;
  if (snprintf(out, sizeof out, "%s/tmp/%s/rootfs.tar", s->dir, st.name) >= (int)sizeof out) {
    cell_error(err, ENAMETOOLONG, "%s/tmp/%s/rootfs.tar", s->dir, st.name);
    goto out;
  }
  int nl = source_lines(dist, suite, lines);
  char *argv[16];
  int a = 0;
  argv[a++] = "mmdebstrap";
  argv[a++] = "--variant=minbase";
  argv[a++] = BOOTSTRAP_INCLUDE;
  argv[a++] = "--format=tar";
  argv[a++] = "--quiet";
  /* a mirror that drops a connection now and then should not fail the build */
  argv[a++] = "--aptopt=Acquire::Retries \"5\"";
  argv[a++] = suite;
  argv[a++] = out;
  for (int i = 0; i < nl; i++) argv[a++] = lines[i];
  argv[a] = NULL;
  fprintf(stderr, "%s: mmdebstrap from %s\n", what, lines[0]);
  if (run_tool(argv, what, err) < 0) goto out;
  if (img_import_path(s, out, name ? name : defname, id, err) < 0) goto out;
  snprintf(id_out, id_size, "%s", id);
  ret = 0;
out:
  if (ret < 0 && strncmp(err->msg, what, strlen(what))) cell_error_wrap(err, "%s", what);
  img_stage_drop(s, &st);
  img_store_close(s);
  return ret;
}
