/* test_state.c - the state directory (runtime/state.c): ids, save/load of
 * every field, the OCI state JSON, the creating mark, locking, list. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/container.h"
#include "runtime/state.h"
#include "unit.h"
#include <cjson/cJSON.h>

static char tmp[64], root[128];
static struct cell_err err;

static int exists_at(int dfd, const char *name) {
  struct stat sb;
  return fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0;
}

static int write_at(int dfd, const char *name, const char *text) {
  int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  ssize_t w = write(fd, text, strlen(text));
  close(fd);
  return w == (ssize_t)strlen(text) ? 0 : -1;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void bad_id(const char *id, const char *want, const char *name) {
  memset(&err, 0, sizeof err);
  CHECK(cell_id_valid(id, &err) < 0, name);
  CHECK_STR(err.msg, want, name);
}

static void test_ids(void) {
  bad_id("", "container id must not be empty", "empty id");
  bad_id(NULL, "container id must not be empty", "NULL id");
  bad_id(".", "invalid container id \".\"", "id .");
  bad_id("..", "invalid container id \"..\"", "id ..");
  bad_id("/", "invalid container id \"/\": only printable characters without '/' allowed", "id /");
  bad_id("a/../b", "invalid container id \"a/../b\": only printable characters without '/' allowed", "id with /");
  bad_id("a b", "invalid container id \"a b\": only printable characters without '/' allowed", "id with a space");
  bad_id("a\nb", "invalid container id \"a\nb\": only printable characters without '/' allowed", "id with a newline");
  bad_id("a\x7f", "invalid container id \"a\x7f\": only printable characters without '/' allowed", "id with DEL");
  char longid[300];
  memset(longid, 'x', 256);
  longid[256] = 0;
  memset(&err, 0, sizeof err);
  CHECK(cell_id_valid(longid, &err) < 0 && strstr(err.msg, ": too long"), "256-character id refused");
  longid[255] = 0;
  CHECK(cell_id_valid(longid, &err) == 0, "255-character id accepted");
  CHECK(cell_id_valid("a.b-c_d:e@1", &err) == 0 && cell_id_valid("...", &err) == 0, "punctuation ids accepted");
}

static void test_root_and_dir(void) {
  char nested[256];
  snprintf(nested, sizeof nested, "%s/a/b", tmp);
  memset(&err, 0, sizeof err);
  CHECK(cell_root_open(nested, false, &err) < 0, "missing root without create fails");
  char want[512];
  snprintf(want, sizeof want, "open state root %s: No such file or directory", nested);
  CHECK_STR(err.msg, want, "missing root message");
  int fd = cell_root_open(nested, true, &err);
  struct stat sb;
  CHECK(fd >= 0 && stat(nested, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0700,
        "root created with parents, mode 0700");
  if (fd >= 0) close(fd);
  rmdir(nested);
  snprintf(nested, sizeof nested, "%s/a", tmp);
  rmdir(nested);

  int rfd = cell_root_open(root, true, &err);
  int d = cell_state_create_dir(rfd, "c1", &err);
  CHECK(d >= 0, "create_dir");
  CHECK(d >= 0 && exists_at(d, CELL_STATE_CREATING) && cell_state_half_made(d), "a new dir is marked creating");
  CHECK(d >= 0 && fstatat(rfd, "c1", &sb, 0) == 0 && (sb.st_mode & 0777) == 0711, "state dir mode 0711");
  memset(&err, 0, sizeof err);
  CHECK(cell_state_create_dir(rfd, "c1", &err) < 0, "a second create_dir of the same id fails");
  CHECK_STR(err.msg, "container with id c1 already exists", "id clash message");
  /* the creator holds the lock: another open file cannot take it */
  int other = openat(rfd, "c1", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  CHECK(other >= 0 && flock(other, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK, "create_dir holds the lock");
  CHECK(cell_state_created(d, "c1", &err) == 0 && !exists_at(d, CELL_STATE_CREATING) && !cell_state_half_made(d),
        "created removes the mark");
  CHECK(cell_state_created(d, "c1", &err) == 0, "created twice is harmless");
  close(d);
  CHECK(other >= 0 && flock(other, LOCK_EX | LOCK_NB) == 0, "closing the fd releases the lock");
  if (other >= 0) close(other);

  memset(&err, 0, sizeof err);
  CHECK(cell_state_lock(rfd, "nope", &err) < 0, "lock of a missing id fails");
  CHECK_STR(err.msg, "container does not exist: nope", "missing id message");
  d = cell_state_lock(rfd, "c1", &err);
  CHECK(d >= 0, "lock of an existing dir (no state.json)");
  /* no state.json: an empty state, which is a stopped container */
  struct cell_state st;
  memset(&st, 0x55, sizeof st);
  CHECK(d >= 0 && cell_state_load(d, "c1", &st, &err) == 0, "load without state.json succeeds");
  CHECK(!strcmp(st.id, "c1") && st.pid == 0 && st.start_time == 0 && !st.bundle && !st.cgroup && !st.annotations &&
            !st.no_pivot,
        "load without state.json: empty state");
  CHECK(d >= 0 && cell_container_status(d, &st) == CELL_STOPPED, "no state.json -> stopped");
  cell_state_free(&st);
  write_at(d, "state.json", "{\"pid\": 12");
  memset(&err, 0, sizeof err);
  CHECK(cell_state_load(d, "c1", &st, &err) < 0, "corrupt state.json fails");
  CHECK_STR(err.msg, "state.json of c1 is corrupt", "corrupt message");
  cell_state_free(&st);
  if (d >= 0) close(d);

  /* remove: subdirectories, files, the mark and state.json */
  d = openat(rfd, "c1", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  mkdirat(d, "sub", 0700);
  int sub = openat(d, "sub", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  write_at(sub, "f", "x");
  close(sub);
  write_at(d, CELL_STATE_CREATING, "");
  write_at(d, "exec.fifo", "");
  close(d);
  CHECK(cell_state_remove(rfd, "c1", &err) == 0 && !exists_at(rfd, "c1"), "remove deletes the whole dir");
  CHECK(cell_state_remove(rfd, "c1", &err) == 0, "remove of a missing id is fine");
  close(rfd);
}

static void test_roundtrip(void) {
  int rfd = cell_root_open(root, true, &err);
  int d = cell_state_create_dir(rfd, "rt", &err);
  struct cell_state st = {.pid = 4242,
                          .start_time = 1234567890123ULL,
                          .bundle = "/b/ü dir",
                          .rootfs = "/b/rootfs",
                          .created = "2026-12-01T05:00:00.123456789Z",
                          .cgroup = "v1:cpu=/x\nv2:/y",
                          .annotations = "{\"a\":\"1\",\"q\":\"\\\"\"}",
                          .owner = 1000,
                          .no_pivot = true};
  snprintf(st.id, sizeof st.id, "rt");
  CHECK(cell_state_save(d, &st, &err) == 0, "save");
  CHECK(exists_at(d, "state.json") && !exists_at(d, "state.json.tmp"), "save leaves state.json, no temp file");
  struct cell_state ld;
  CHECK(cell_state_load(d, "rt", &ld, &err) == 0, "load");
  CHECK_STR(ld.id, "rt", "id round trip");
  CHECK(ld.pid == 4242 && ld.start_time == 1234567890123ULL && ld.owner == 1000 && ld.no_pivot,
        "pid, start_time, owner, no_pivot round trip");
  CHECK_STR(ld.bundle, st.bundle, "bundle round trip");
  CHECK_STR(ld.rootfs, st.rootfs, "rootfs round trip");
  CHECK_STR(ld.created, st.created, "created round trip");
  CHECK_STR(ld.cgroup, st.cgroup, "cgroup round trip");
  CHECK_STR(ld.annotations, st.annotations, "annotations round trip");
  cell_state_free(&ld);
  CHECK(!ld.bundle && !ld.cgroup, "free clears the pointers");
  /* NULL strings stay NULL, false stays false */
  struct cell_state st2 = {.pid = 1};
  snprintf(st2.id, sizeof st2.id, "rt");
  cell_state_save(d, &st2, &err);
  CHECK(cell_state_load(d, "rt", &ld, &err) == 0 && !ld.bundle && !ld.rootfs && !ld.created && !ld.cgroup &&
            !ld.annotations && !ld.no_pivot && ld.owner == 0 && ld.pid == 1,
        "absent fields load as NULL/0");
  cell_state_free(&ld);
  close(d);
  cell_state_remove(rfd, "rt", &err);
  close(rfd);

  /* the OCI state JSON for each status */
  static const enum cell_status sts[] = {CELL_CREATING, CELL_CREATED, CELL_RUNNING, CELL_PAUSED, CELL_STOPPED};
  static const char *names[] = {"creating", "created", "running", "paused", "stopped"};
  for (int i = 0; i < 5; i++) {
    char *text = cell_state_json(&st, sts[i]);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    const cJSON *ann = cJSON_GetObjectItem(j, "annotations");
    const cJSON *q = cJSON_GetObjectItem(ann, "q");
    char name[96];
    snprintf(name, sizeof name, "state JSON, status %s", names[i]);
    CHECK(j && !strcmp(cJSON_GetObjectItem(j, "ociVersion")->valuestring, "1.2.0") &&
              !strcmp(cJSON_GetObjectItem(j, "id")->valuestring, "rt") &&
              !strcmp(cJSON_GetObjectItem(j, "status")->valuestring, names[i]) &&
              cJSON_GetObjectItem(j, "pid")->valueint == (sts[i] == CELL_STOPPED ? 0 : 4242) &&
              !strcmp(cJSON_GetObjectItem(j, "bundle")->valuestring, "/b/ü dir") &&
              cJSON_IsObject(ann) && cJSON_IsString(q) && !strcmp(q->valuestring, "\"") &&
              !strcmp(cJSON_GetObjectItem(j, "created")->valuestring, st.created),
          name);
    CHECK_STR(cell_status_name(sts[i]), names[i], "cell_status_name");
    cJSON_Delete(j);
    free(text);
  }
  st2.annotations = NULL;
  char *text = cell_state_json(&st2, CELL_RUNNING);
  cJSON *j = cJSON_Parse(text);
  CHECK(j && !cJSON_GetObjectItem(j, "annotations") && !cJSON_GetObjectItem(j, "bundle") &&
            cJSON_GetObjectItem(j, "pid")->valueint == 1,
        "state JSON without annotations or bundle omits them");
  cJSON_Delete(j);
  free(text);
}

/* A child that sleeps until killed; its state as a live container. */
static pid_t sleeper(void) {
  pid_t p = fork();
  if (p == 0) {
    for (;;) pause();
  }
  return p;
}

static void test_status_and_pid(void) {
  CHECK(cell_proc_start_time(getpid()) > 0, "our own start time");
  pid_t z = fork();
  if (z == 0) _exit(0);
  siginfo_t si;
  waitid(P_PID, (id_t)z, &si, WEXITED | WNOWAIT); /* exited, not reaped: a zombie */
  CHECK(cell_proc_start_time(z) == 0, "a zombie has start time 0");
  waitpid(z, NULL, 0);
  CHECK(cell_proc_start_time(z) == 0, "a reaped pid has start time 0");

  pid_t p = sleeper();
  struct cell_state st = {.pid = p, .start_time = cell_proc_start_time(p)};
  CHECK(cell_state_pid_alive(&st), "a live pid with its start time is alive");
  st.start_time++;
  CHECK(!cell_state_pid_alive(&st), "a reused pid (other start time) is not");
  st.start_time--;
  struct cell_state none = {.pid = 0};
  CHECK(!cell_state_pid_alive(&none), "pid 0 is not alive");

  int rfd = cell_root_open(root, true, &err);
  int d = cell_state_create_dir(rfd, "live", &err);
  snprintf(st.id, sizeof st.id, "live");
  cell_state_save(d, &st, &err);
  CHECK(cell_container_status(d, &st) == CELL_STOPPED, "half made, pid alive -> stopped");
  cell_state_created(d, "live", &err);
  write_at(d, "exec.fifo", "");
  CHECK(cell_container_status(d, &st) == CELL_CREATED, "exec.fifo -> created");
  unlinkat(d, "exec.fifo", 0);
  CHECK(cell_container_status(d, &st) == CELL_RUNNING, "no fifo -> running");
  kill(p, SIGKILL);
  waitpid(p, NULL, 0);
  CHECK(cell_container_status(d, &st) == CELL_STOPPED, "dead pid -> stopped");
  close(d);
  cell_state_remove(rfd, "live", &err);
  close(rfd);
}

/* In a child: lock <root>/lk, print when it got it (CLOCK_MONOTONIC) and the result. */
static pid_t lock_in_child(int fd_to_close, int *rfd_out) {
  int p[2];
  if (pipe(p) < 0) return -1;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    close(fd_to_close);
    struct cell_err e = {0};
    int rfd = cell_root_open(root, false, &e);
    int d = cell_state_lock(rfd, "lk", &e);
    dprintf(p[1], "at=%.6f rc=%d msg=%s\n", now(), d < 0 ? -1 : 0, d < 0 ? e.msg : "");
    _exit(0);
  }
  close(p[1]);
  *rfd_out = p[0];
  return pid;
}

/* Until pid is blocked waiting for a flock (a "->" line of /proc/locks). */
static int blocked_on_flock(pid_t pid) {
  char want[32], line[256];
  snprintf(want, sizeof want, " %d ", (int)pid);
  for (int i = 0; i < 500; i++) {
    FILE *f = fopen("/proc/locks", "re");
    int found = 0;
    while (f && fgets(line, sizeof line, f))
      if (strstr(line, "-> FLOCK") && strstr(line, want)) found = 1;
    if (f) fclose(f);
    if (found) return 1;
    usleep(10000);
  }
  return 0;
}

static const char *child_result(int fd, pid_t pid) {
  static char buf[512];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  buf[n > 0 ? n : 0] = 0;
  close(fd);
  waitpid(pid, NULL, 0);
  return buf;
}

static void test_locking(void) {
  int rfd = cell_root_open(root, true, &err);
  int d = cell_state_create_dir(rfd, "lk", &err);
  /* a second lock waits while the creator holds it, and gets it once released */
  int out;
  pid_t w = lock_in_child(d, &out);
  CHECK(blocked_on_flock(w), "a second lock of the id waits (blocked in flock)");
  double released = now();
  close(d);
  const char *buf = child_result(out, w);
  double at = 0;
  int rc = 1;
  sscanf(buf, "at=%lf rc=%d", &at, &rc);
  CHECK(rc == 0 && at >= released, "the waiter gets the lock after it was released");
  if (!(rc == 0 && at >= released)) printf("#   %s", buf);

  /* a delete while the second one waits: it finds no container */
  d = cell_state_lock(rfd, "lk", &err);
  w = lock_in_child(d, &out);
  CHECK(blocked_on_flock(w), "a waiter is queued behind the delete");
  CHECK(cell_state_remove(rfd, "lk", &err) == 0, "remove while a waiter is queued");
  close(d);
  buf = child_result(out, w);
  CHECK(strstr(buf, "rc=-1 msg=container does not exist: lk") != NULL, "the waiter of a deleted container fails");
  if (!strstr(buf, "rc=-1")) printf("#   %s", buf);
  /* a new directory of the same name is not the one the waiter opened */
  d = cell_state_create_dir(rfd, "lk", &err);
  CHECK(d >= 0, "the id can be created again");
  close(d);
  cell_state_remove(rfd, "lk", &err);
  close(rfd);
}

static void test_list(void) {
  char lroot[160];
  snprintf(lroot, sizeof lroot, "%s/list", tmp);
  struct cell_state *sts;
  enum cell_status *ss;
  size_t n = 99;
  CHECK(cell_container_list(lroot, &sts, &ss, &n, &err) == 0 && n == 0, "list of a missing root is empty");
  free(sts);
  free(ss);
  int rfd = cell_root_open(lroot, true, &err);
  pid_t p = sleeper();
  struct cell_state st = {.pid = p, .start_time = cell_proc_start_time(p), .bundle = "/bundle"};
  /* a: created (live pid, exec.fifo) */
  int d = cell_state_create_dir(rfd, "a", &err);
  snprintf(st.id, sizeof st.id, "a");
  cell_state_save(d, &st, &err);
  cell_state_created(d, "a", &err);
  write_at(d, "exec.fifo", "");
  close(d);
  /* b: running */
  d = cell_state_create_dir(rfd, "b", &err);
  snprintf(st.id, sizeof st.id, "b");
  cell_state_save(d, &st, &err);
  cell_state_created(d, "b", &err);
  close(d);
  /* c: a create in progress (lock held, marked) */
  int c_fd = cell_state_create_dir(rfd, "c", &err);
  snprintf(st.id, sizeof st.id, "c");
  cell_state_save(c_fd, &st, &err);
  /* d: a create killed after its first save (marked, unlocked) */
  d = cell_state_create_dir(rfd, "d", &err);
  snprintf(st.id, sizeof st.id, "d");
  cell_state_save(d, &st, &err);
  close(d);
  /* e: a create killed before any save: empty dir with the mark */
  d = cell_state_create_dir(rfd, "e", &err);
  close(d);
  /* garbage: a corrupt state.json, a plain file, a hidden dir */
  mkdirat(rfd, "f-corrupt", 0700);
  d = openat(rfd, "f-corrupt", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  write_at(d, "state.json", "not json");
  close(d);
  write_at(rfd, "g-file", "x");
  mkdirat(rfd, ".hidden", 0700);

  int r = cell_container_list(lroot, &sts, &ss, &n, &err);
  CHECK(r == 0 && n == 5, "list: five containers, garbage skipped");
  const char *ids[] = {"a", "b", "c", "d", "e"};
  const enum cell_status want[] = {CELL_CREATED, CELL_RUNNING, CELL_CREATING, CELL_STOPPED, CELL_STOPPED};
  for (size_t i = 0; r == 0 && i < 5 && i < n; i++) {
    char name[64];
    snprintf(name, sizeof name, "list[%zu] is %s, %s", i, ids[i], cell_status_name(want[i]));
    CHECK(!strcmp(sts[i].id, ids[i]) && ss[i] == want[i], name);
    if (strcmp(sts[i].id, ids[i]) || ss[i] != want[i])
      printf("#   got %s %s\n", sts[i].id, cell_status_name(ss[i]));
  }
  CHECK(r == 0 && n == 5 && sts[0].bundle && !strcmp(sts[0].bundle, "/bundle") && sts[4].pid == 0,
        "list loads each state");
  for (size_t i = 0; i < n; i++) cell_state_free(&sts[i]);
  free(sts);
  free(ss);
  /* once the creator is gone, c is a stopped half-made container */
  close(c_fd);
  r = cell_container_list(lroot, &sts, &ss, &n, &err);
  CHECK(r == 0 && n == 5 && ss[2] == CELL_STOPPED, "a create whose lock is gone lists as stopped");
  for (size_t i = 0; i < n; i++) cell_state_free(&sts[i]);
  free(sts);
  free(ss);

  kill(p, SIGKILL);
  waitpid(p, NULL, 0);
  const char *all[] = {"a", "b", "c", "d", "e", "f-corrupt", ".hidden"};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) cell_state_remove(rfd, all[i], &err);
  unlinkat(rfd, "g-file", 0);
  close(rfd);
  CHECK(rmdir(lroot) == 0, "list root cleaned up");
}

int main(void) {
  snprintf(tmp, sizeof tmp, "/tmp/cell-i-tests-state.XXXXXX");
  if (!mkdtemp(tmp)) return 2;
  snprintf(root, sizeof root, "%s/root", tmp);
  test_ids();
  test_root_and_dir();
  test_roundtrip();
  test_status_and_pid();
  test_locking();
  test_list();
  rmdir(root);
  CHECK(rmdir(tmp) == 0, "temp dir cleaned up");
  UNIT_DONE();
}
