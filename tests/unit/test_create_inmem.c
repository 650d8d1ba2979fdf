/* test_create_inmem.c - the runtime as a library: create a real container
 * from a config built in memory (no config.json), with create hooks.
 *   - the container runs and its output is what the config asks for;
 *   - on_phase sees every phase in order; the netns hook runs between
 *     "init mounted" and "network ready", with the init's pid and a network
 *     namespace that is not ours;
 *   - a failing netns hook fails create with its message and leaves no state
 *     dir, cgroup or process;
 *   - a bad in-memory config fails with the field named, nothing left.
 * Uses the busybox rootfs of tests/fixtures/mkrootfs.sh (build/fixtures),
 * read-only; state in a fresh temporary --root. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/container.h"
#include "unit.h"

static char rootfs[PATH_MAX], root[PATH_MAX], bundle[PATH_MAX];

static int ensure_rootfs(void) {
  char top[PATH_MAX];
  if (!getcwd(top, sizeof top)) return -1;
  snprintf(rootfs, sizeof rootfs, "%s/build/fixtures/rootfs", top);
  char bb[PATH_MAX + 16];
  snprintf(bb, sizeof bb, "%s/bin/busybox", rootfs);
  if (access(bb, X_OK) == 0) return 0;
  pid_t p = fork();
  if (p == 0) {
    int nul = open("/dev/null", O_WRONLY);
    dup2(nul, 1);
    execl("tests/fixtures/mkrootfs.sh", "mkrootfs.sh", (char *)NULL);
    _exit(127);
  }
  int st;
  if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return -1;
  return access(bb, X_OK);
}

/* A minimal config: busybox sh -c SCRIPT in new mount, pid, net, ipc, uts
 * namespaces, read-only root, /proc and /dev, a cgroup cell-tests/ID. */
static cJSON *make_config(const char *id, const char *script) {
  cJSON *c = cJSON_CreateObject();
  cJSON_AddStringToObject(c, "ociVersion", "1.0.2");
  cJSON *p = cJSON_AddObjectToObject(c, "process");
  const char *args[] = {"sh", "-c", script};
  cJSON_AddItemToObject(p, "args", cJSON_CreateStringArray(args, 3));
  const char *env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  cJSON_AddItemToObject(p, "env", cJSON_CreateStringArray(env, 1));
  cJSON_AddStringToObject(p, "cwd", "/");
  cJSON *u = cJSON_AddObjectToObject(p, "user");
  cJSON_AddNumberToObject(u, "uid", 0);
  cJSON_AddNumberToObject(u, "gid", 0);
  cJSON *r = cJSON_AddObjectToObject(c, "root");
  cJSON_AddStringToObject(r, "path", rootfs);
  cJSON_AddBoolToObject(r, "readonly", 1);
  cJSON_AddStringToObject(c, "hostname", "inmem");
  cJSON *mounts = cJSON_AddArrayToObject(c, "mounts");
  cJSON *m = cJSON_CreateObject();
  cJSON_AddStringToObject(m, "destination", "/proc");
  cJSON_AddStringToObject(m, "type", "proc");
  cJSON_AddStringToObject(m, "source", "proc");
  cJSON_AddItemToArray(mounts, m);
  m = cJSON_CreateObject();
  cJSON_AddStringToObject(m, "destination", "/dev");
  cJSON_AddStringToObject(m, "type", "tmpfs");
  cJSON_AddStringToObject(m, "source", "tmpfs");
  const char *o[] = {"nosuid", "mode=755", "size=1024k"};
  cJSON_AddItemToObject(m, "options", cJSON_CreateStringArray(o, 3));
  cJSON_AddItemToArray(mounts, m);
  cJSON *l = cJSON_AddObjectToObject(c, "linux");
  char cg[128];
  snprintf(cg, sizeof cg, "cell-tests/%s", id);
  cJSON_AddStringToObject(l, "cgroupsPath", cg);
  cJSON *ns = cJSON_AddArrayToObject(l, "namespaces");
  const char *types[] = {"mount", "pid", "network", "ipc", "uts"};
  for (size_t i = 0; i < 5; i++) {
    cJSON *n = cJSON_CreateObject();
    cJSON_AddStringToObject(n, "type", types[i]);
    cJSON_AddItemToArray(ns, n);
  }
  return c;
}

static int cgroup_walk(const char *id, int remove_parent);
/* Any cgroup cell-tests/ID left below our own cgroup, in any hierarchy. */
static int cgroup_left(const char *id) { return cgroup_walk(id, 0); }
static int cgroup_walk(const char *id, int remove_parent) {
  FILE *f = fopen("/proc/self/cgroup", "re");
  char line[1024];
  int left = 0;
  while (f && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    char *ctl = strchr(line, ':');
    char *path = ctl ? strchr(ctl + 1, ':') : NULL;
    if (!path) continue;
    *path++ = 0;
    ctl++;
    const char *mnt = !*ctl ? "unified" : !strncmp(ctl, "name=", 5) ? ctl + 5 : ctl;
    char dir[PATH_MAX * 2];
    snprintf(dir, sizeof dir, "/sys/fs/cgroup/%s%s/cell-tests/%s", mnt, strcmp(path, "/") ? path : "", id);
    struct stat sb;
    if (remove_parent) { /* the shared cell-tests/, only once empty */
      *strrchr(dir, '/') = 0;
      rmdir(dir);
    } else if (stat(dir, &sb) == 0) {
      printf("# cgroup left: %s\n", dir);
      left = 1;
    }
  }
  if (f) fclose(f);
  return left;
}

static int state_left(const char *id) {
  char d[PATH_MAX + 64];
  snprintf(d, sizeof d, "%s/%s", root, id);
  return access(d, F_OK) == 0;
}

struct record {
  enum cell_create_phase phases[16];
  int nphases;
  int netns_at; /* index in phases when netns ran, -1 if not */
  pid_t netns_pid, phase_pid_at_spawn;
  int netns_differs;
  int fail_netns;
};

static int on_phase(enum cell_create_phase ph, pid_t pid, void *data, struct cell_err *err) {
  (void)err;
  struct record *r = data;
  if (r->nphases < 16) r->phases[r->nphases++] = ph;
  if (ph == CELL_CREATE_INIT_SPAWNED) r->phase_pid_at_spawn = pid;
  return 0;
}

static int netns_hook(pid_t pid, int netns_fd, void *data, struct cell_err *err) {
  struct record *r = data;
  r->netns_at = r->nphases;
  r->netns_pid = pid;
  struct stat theirs, ours;
  r->netns_differs = fstat(netns_fd, &theirs) == 0 && stat("/proc/self/ns/net", &ours) == 0 &&
                     (theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev);
  if (r->fail_netns) return cell_error(err, EHOSTUNREACH, "veth for %d refused by the test", (int)pid);
  return 0;
}

static void test_run(void) {
  char id[64];
  snprintf(id, sizeof id, "i-rt-inmem-%d", (int)getpid());
  cJSON *cfg = make_config(id, "echo hello-from-memory; hostname; echo $$");
  struct record rec = {.netns_at = -1};
  struct cell_create_hooks hooks = {.on_phase = on_phase, .netns = netns_hook, .data = &rec};
  struct cell_create_opts o = {.root = root, .id = id, .bundle = bundle, .config = cfg, .hooks = &hooks};
  struct cell_created out;
  struct cell_err err = {0};
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0) return;
  /* the container's stdout is ours at create: point it at the pipe */
  fflush(stdout);
  int saved = dup(1);
  dup2(pfd[1], 1);
  int rc = cell_container_create(&o, &out, &err);
  dup2(saved, 1);
  close(saved);
  close(pfd[1]);
  cJSON_Delete(cfg);
  CHECK(rc == 0, "create from an in-memory config succeeds");
  if (rc != 0) {
    printf("# %s\n", err.msg);
    close(pfd[0]);
    return;
  }
  char cfgpath[PATH_MAX + 64];
  snprintf(cfgpath, sizeof cfgpath, "%s/config.json", bundle);
  CHECK(access(cfgpath, F_OK) != 0, "no config.json in the bundle dir was needed");
  char *state = NULL;
  CHECK(cell_container_state(root, id, &state, &err) == 0 && state && strstr(state, "\"created\""),
        "state says created");
  free(state);
  CHECK(rec.nphases == 8, "on_phase saw 8 phases");
  int in_order = 1;
  for (int i = 0; i < rec.nphases; i++)
    if ((int)rec.phases[i] != i) in_order = 0;
  CHECK(in_order, "phases came in order, prepared .. created");
  CHECK(rec.phase_pid_at_spawn == out.pid, "on_phase(init spawned) got the init's pid");
  CHECK(rec.netns_at == CELL_CREATE_INIT_MOUNTED + 1, "netns hook ran after init mounted, before network ready");
  CHECK(rec.netns_pid == out.pid, "netns hook got the init's pid");
  CHECK(rec.netns_differs, "netns hook's fd is a network namespace other than the runtime's");
  CHECK(cell_container_start(root, id, &err) == 0, "start");
  char buf[512];
  size_t n = 0;
  struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
  while (n < sizeof buf - 1 && poll(&pf, 1, 10000) > 0) {
    ssize_t r = read(pfd[0], buf + n, sizeof buf - 1 - n);
    if (r <= 0) break;
    n += (size_t)r;
  }
  buf[n] = 0;
  close(pfd[0]);
  CHECK_STR(buf, "hello-from-memory\ninmem\n1\n", "the process ran with the in-memory config (args, hostname, pid ns)");
  int wst = 0;
  CHECK(waitpid(out.pid, &wst, 0) == out.pid && WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "the init exited 0");
  CHECK(cell_container_delete(root, id, false, &err) == 0, "delete");
  CHECK(!state_left(id) && !cgroup_left(id), "delete left no state dir and no cgroup");
}

static void test_netns_fails(void) {
  char id[64];
  snprintf(id, sizeof id, "i-rt-inmem-fail-%d", (int)getpid());
  cJSON *cfg = make_config(id, "echo must-not-run");
  struct record rec = {.netns_at = -1, .fail_netns = 1};
  struct cell_create_hooks hooks = {.on_phase = on_phase, .netns = netns_hook, .data = &rec};
  struct cell_create_opts o = {.root = root, .id = id, .bundle = bundle, .config = cfg, .hooks = &hooks};
  struct cell_created out;
  struct cell_err err = {0};
  int rc = cell_container_create(&o, &out, &err);
  cJSON_Delete(cfg);
  CHECK(rc == -1, "a failing netns hook fails create");
  CHECK(strstr(err.msg, "network hook") && strstr(err.msg, "refused by the test") && err.errnum == EHOSTUNREACH,
        "the error carries the hook's message");
  if (!strstr(err.msg, "refused by the test")) printf("# %s\n", err.msg);
  CHECK(out.pid == -1 && out.console_master == -1, "no pid or console handed out");
  CHECK(rec.netns_pid > 0 && kill(rec.netns_pid, 0) == -1 && errno == ESRCH, "the init is gone (killed and reaped)");
  CHECK(!state_left(id), "no state dir left");
  CHECK(!cgroup_left(id), "no cgroup left");
  int sawnet = 0;
  for (int i = 0; i < rec.nphases; i++)
    if (rec.phases[i] >= CELL_CREATE_NETWORK_READY) sawnet = 1;
  CHECK(!sawnet, "no phase after the failed hook was reached");
}

static int fail_phase(enum cell_create_phase ph, pid_t pid, void *data, struct cell_err *err) {
  (void)pid;
  (void)data;
  if (ph == CELL_CREATE_INIT_PLACED) return cell_error(err, 0, "stop at placed");
  return 0;
}

static void test_phase_fails_and_bad_config(void) {
  char id[64];
  snprintf(id, sizeof id, "i-rt-inmem-ph-%d", (int)getpid());
  cJSON *cfg = make_config(id, "true");
  struct cell_create_hooks hooks = {.on_phase = fail_phase};
  struct cell_create_opts o = {.root = root, .id = id, .bundle = bundle, .config = cfg, .hooks = &hooks};
  struct cell_created out;
  struct cell_err err = {0};
  CHECK(cell_container_create(&o, &out, &err) == -1 && strstr(err.msg, "init placed in its cgroup") &&
            strstr(err.msg, "stop at placed"),
        "a failing on_phase fails create, naming the phase");
  CHECK(!state_left(id) && !cgroup_left(id), "a failing on_phase leaves no state dir or cgroup");
  cJSON_DeleteItemFromObject(cfg, "process");
  o.hooks = NULL;
  CHECK(cell_container_create(&o, &out, &err) == -1 && strstr(err.msg, "process"),
        "an in-memory config without process fails naming the field");
  CHECK(!state_left(id), "a bad in-memory config leaves no state dir");
  o.bundle = NULL;
  CHECK(cell_container_create(&o, &out, &err) == -1 && strstr(err.msg, "bundle"),
        "an in-memory config needs a bundle dir");
  cJSON_Delete(cfg);
}

int main(void) {
  if (geteuid() != 0) {
    printf("not ok 1 - test_create_inmem needs root\n1..1\n");
    return 1;
  }
  if (ensure_rootfs() < 0) {
    printf("not ok 1 - build/fixtures/rootfs (tests/fixtures/mkrootfs.sh) is missing\n1..1\n");
    return 1;
  }
  snprintf(root, sizeof root, "/tmp/i-rt-inmem-root-XXXXXX");
  snprintf(bundle, sizeof bundle, "/tmp/i-rt-inmem-bundle-XXXXXX");
  if (!mkdtemp(root) || !mkdtemp(bundle)) {
    perror("mkdtemp");
    return 1;
  }
  test_run();
  test_netns_fails();
  test_phase_fails_and_bad_config();
  cgroup_walk("x", 1);
  rmdir(root);
  rmdir(bundle);
  UNIT_DONE();
}
