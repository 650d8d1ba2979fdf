/* test_hooks.c - OCI hook validation and execution. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/hooks.h"
#include "unit.h"

static char dir[64];

static cJSON *J(const char *s) {
  cJSON *j = cJSON_Parse(s);
  if (!j) {
    fprintf(stderr, "bad test json: %s\n", s);
    exit(2);
  }
  return j;
}

static char *slurp(const char *path) {
  static char buf[65536];
  int fd = open(path, O_RDONLY);
  if (fd < 0) return NULL;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[n < 0 ? 0 : n] = 0;
  return buf;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs a hooks array given as JSON text; %D in the text becomes the temp dir. */
static struct cell_err err;
static int run(const char *which, const char *json_tmpl, const char *state) {
  char json[8192];
  size_t o = 0;
  for (const char *p = json_tmpl; *p && o < sizeof json - 80; p++) {
    if (p[0] == '%' && p[1] == 'D') {
      o += (size_t)snprintf(json + o, sizeof json - o, "%s", dir);
      p++;
    } else {
      json[o++] = *p;
    }
  }
  json[o] = 0;
  cJSON *j = J(json);
  memset(&err, 0, sizeof err);
  int r = cell_hooks_run(j, which, state, &err);
  cJSON_Delete(j);
  return r;
}

static void validate_fails(const char *json, const char *want, const char *name) {
  cJSON *j = J(json);
  memset(&err, 0, sizeof err);
  CHECK(cell_hooks_validate(j, &err) < 0, name);
  CHECK_STR(err.msg, want, name);
  cJSON_Delete(j);
}

/* exists and is not a zombie (orphans may wait for a reaper) */
static int alive(pid_t pid) {
  char p[64], buf[512];
  snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
  int fd = open(p, O_RDONLY);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  const char *rp = strrchr(buf, ')');
  return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/cell-hooks-XXXXXX");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  char path[256];
  const char *state = "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":42,"
                      "\"bundle\":\"/b\"}";

  /* ---- validation ---- */
  cJSON *ok = J("{\"prestart\":[{\"path\":\"/bin/true\",\"args\":[\"true\"],\"env\":[\"A=1\"],"
                "\"timeout\":5}],\"poststop\":[],\"createRuntime\":null}");
  CHECK(cell_hooks_validate(ok, &err) == 0, "valid hooks accepted");
  cJSON_Delete(ok);
  CHECK(cell_hooks_validate(NULL, &err) == 0, "no hooks accepted");
  validate_fails("{\"prestart\":[{\"path\":\"/a\"},{\"path\":\"bin/hook\"}]}",
                 "hooks.prestart[1].path: must be an absolute path (got \"bin/hook\")",
                 "relative hook path rejected");
  validate_fails("{\"poststart\":[{\"args\":[]}]}", "hooks.poststart[0].path: missing",
                 "missing path rejected");
  validate_fails("{\"createRuntime\":[{\"path\":\"/a\",\"timeout\":0}]}",
                 "hooks.createRuntime[0].timeout: must be > 0 (got 0)", "zero timeout rejected");
  validate_fails("{\"createRuntime\":[{\"path\":\"/a\",\"timeout\":1.5}]}",
                 "hooks.createRuntime[0].timeout: must be an integer", "fractional timeout rejected");
  validate_fails("{\"startContainer\":[{\"path\":\"/a\",\"args\":[\"a\",3]}]}",
                 "hooks.startContainer[0].args[1]: must be a string", "non-string arg rejected");
  validate_fails("{\"poststop\":[{\"path\":\"/a\",\"env\":[\"NOEQUALS\"]}]}",
                 "hooks.poststop[0].env[0]: \"NOEQUALS\" is not in KEY=VALUE form",
                 "bad env rejected");
  validate_fails("{\"prestart\":{\"path\":\"/a\"}}", "hooks.prestart: must be an array",
                 "hook list that is not an array rejected");
  validate_fails("[1]", "hooks: must be an object", "hooks that is not an object rejected");

  /* ---- state on stdin ---- */
  CHECK(run("prestart",
            "[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"cat > \\\"$OUT\\\"\"],"
            "\"env\":[\"OUT=%D/state\"]}]",
            state) == 0,
        "stdin-reading hook succeeds");
  snprintf(path, sizeof path, "%s/state", dir);
  CHECK_STR(slurp(path), state, "hook received the state JSON on stdin");

  /* ---- env exactly as given, stdout inherited ---- */
  snprintf(path, sizeof path, "%s/env", dir);
  fflush(stdout);
  int saved = dup(1);
  int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
  dup2(fd, 1);
  close(fd);
  int r = run("createRuntime",
              "[{\"path\":\"/usr/bin/env\",\"args\":[\"env\"],\"env\":[\"A=1\",\"B=two words\"]}]",
              state);
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  CHECK(r == 0, "env hook succeeds");
  CHECK_STR(slurp(path), "A=1\nB=two words\n", "hook env is exactly the configured env");
  fflush(stdout);
  saved = dup(1);
  fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
  dup2(fd, 1);
  close(fd);
  r = run("createRuntime", "[{\"path\":\"/usr/bin/env\"}]", state);
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  CHECK(r == 0 && slurp(path) && slurp(path)[0] == 0, "no env in config: empty environment");

  /* ---- args, argv[0] ---- */
  CHECK(run("prestart",
            "[{\"path\":\"/bin/sh\",\"args\":[\"my-argv0\",\"-c\","
            "\"tr '\\\\000' '|' < /proc/$$/cmdline > %D/argv\",\"zero\",\"one\"]}]",
            state) == 0,
        "args hook succeeds");
  snprintf(path, sizeof path, "%s/argv", dir);
  const char *got = slurp(path);
  CHECK(got && strncmp(got, "my-argv0|-c|", 12) == 0 && strstr(got, "|zero|one|"),
        "args[0] is argv[0] and the rest follow");
  if (got) printf("# argv: %s\n", got);

  /* ---- hook without args: argv = {path} ---- */
  char script[256];
  snprintf(script, sizeof script, "%s/hook.sh", dir);
  FILE *f = fopen(script, "w");
  fprintf(f, "#!/bin/sh\necho \"ran $# args\" > %s/noargs\n", dir);
  fclose(f);
  chmod(script, 0755);
  CHECK(run("poststart", "[{\"path\":\"%D/hook.sh\"}]", state) == 0, "hook without args runs");
  snprintf(path, sizeof path, "%s/noargs", dir);
  CHECK_STR(slurp(path), "ran 0 args\n", "hook without args gets no extra arguments");

  /* ---- hook that ignores stdin, with a state bigger than a pipe ---- */
  size_t big = 300000;
  char *bigstate = malloc(big + 1);
  memset(bigstate, 'x', big);
  bigstate[big] = 0;
  double t0 = now();
  CHECK(run("prestart", "[{\"path\":\"/bin/true\",\"timeout\":10}]", bigstate) == 0,
        "hook that never reads stdin: EPIPE ignored, no SIGPIPE death");
  CHECK(now() - t0 < 5, "hook that never reads stdin does not block us");
  snprintf(path, sizeof path, "%s/bigcount", dir);
  CHECK(run("prestart",
            "[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"wc -c > %D/bigcount\"]}]",
            bigstate) == 0 &&
            atol(slurp(path)) == (long)big,
        "300000-byte state delivered completely");
  free(bigstate);

  /* ---- timeout ---- */
  t0 = now();
  r = run("prestart",
          "[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\","
          "\"sleep 100 & echo $! > %D/bgpid; echo $$ > %D/pid; exec sleep 100\"],\"timeout\":1}]",
          state);
  double el = now() - t0;
  CHECK(r < 0, "sleeping hook fails");
  CHECK_STR(err.msg, "hooks.prestart[0]: timeout after 1 seconds", "timeout error text");
  CHECK(el >= 0.9 && el < 2.0, "timeout fires after about 1 s");
  printf("# timeout returned after %.3f s\n", el);
  snprintf(path, sizeof path, "%s/pid", dir);
  pid_t hp = (pid_t)atol(slurp(path) ? slurp(path) : "0");
  snprintf(path, sizeof path, "%s/bgpid", dir);
  pid_t bp = (pid_t)atol(slurp(path) ? slurp(path) : "0");
  usleep(100000);
  CHECK(hp > 0 && !alive(hp), "timed-out hook was killed and reaped");
  CHECK(bp > 0 && !alive(bp), "the hook's background child was killed too");

  /* ---- failures ---- */
  r = run("createRuntime",
          "[{\"path\":\"/bin/true\"},{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\","
          "\"echo first >&2; echo oops >&2; exit 3\"]}]",
          state);
  CHECK(r < 0, "non-zero exit fails");
  CHECK_STR(err.msg, "hooks.createRuntime[1] (/bin/sh): exit status 3: stderr: \"first\\noops\"",
            "exit status error names index, path and stderr tail");
  /* poststart/poststop: a failure is a warning, the later hooks run (runtime-spec) */
  r = run("poststop",
          "[{\"path\":\"/bin/false\"},{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\","
          "\"echo after > %D/after\"]}]",
          state);
  snprintf(path, sizeof path, "%s/after", dir);
  char *after = slurp(path);
  CHECK(r == 0 && after && !strcmp(after, "after\n"), "a failed poststop hook does not stop the later ones");
  r = run("prestart", "[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"kill -TERM $$\"]}]", state);
  CHECK(r < 0 && !strcmp(err.msg, "hooks.prestart[0] (/bin/sh): killed by signal 15 (Terminated)"),
        "killed hook reported with signal");
  if (r < 0) printf("# %s\n", err.msg);
  r = run("prestart", "[{\"path\":\"/nonexistent/hook\"}]", state);
  CHECK(r < 0, "missing hook binary fails");
  CHECK_STR(err.msg, "hooks.prestart[0] (/nonexistent/hook): exec: No such file or directory",
            "exec failure text");
  r = run("prestart", "[{\"path\":\"rel/hook\"}]", state);
  CHECK(r < 0 && strstr(err.msg, "hooks.prestart[0].path: must be an absolute path"),
        "run validates too");
  CHECK(run("prestart", "[]", state) == 0 && cell_hooks_run(NULL, "prestart", state, &err) == 0,
        "no hooks: nothing to do");

  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) printf("# cleanup failed\n");
  UNIT_DONE();
}
