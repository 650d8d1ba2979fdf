/* test_spec.c - env/spec.c: the environment's OCI spec, checked field by
 * field and through the runtime's own validators (spec, cgroups, seccomp). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "cgroups/cgroup_internal.h"
#include "env/spec.h"
#include "runtime/cell_seccomp.h"
#include "runtime/spec.h"

#define J(o, k) cJSON_GetObjectItemCaseSensitive((o), (k))

static bool has_str(const cJSON *arr, const char *s) {
  const cJSON *it;
  cJSON_ArrayForEach(it, arr) if (cJSON_IsString(it) && !strcmp(it->valuestring, s)) return true;
  return false;
}

static const cJSON *mount_at(const cJSON *spec, const char *dst) {
  const cJSON *m;
  cJSON_ArrayForEach(m, J(spec, "mounts")) if (!strcmp(cJSON_GetStringValue(J(m, "destination")), dst)) return m;
  return NULL;
}

static bool has_ns(const cJSON *spec, const char *type, const char **path) {
  const cJSON *n;
  cJSON_ArrayForEach(n, J(J(spec, "linux"), "namespaces")) if (!strcmp(cJSON_GetStringValue(J(n, "type")), type)) {
    if (path) *path = cJSON_GetStringValue(J(n, "path"));
    return true;
  }
  return false;
}

static double num(const cJSON *o, const char *a, const char *b) {
  const cJSON *x = J(o, a);
  if (b) x = J(x, b);
  return cJSON_IsNumber(x) ? x->valuedouble : -1;
}

static struct env_spec_in base_in(void) {
  struct env_spec_in in = {0};
  in.name = "web1";
  in.rootfs = "/var/lib/cell/vps/web1/root";
  in.uid_base = 1000000000;
  in.uuid = "0123456789abcdef0123456789ABCDEF";
  in.notify_socket = "/run/cell/env/web1/notify";
  return in;
}

/* The runtime accepts it: its spec validator, cgroup renderers, seccomp builder. */
static void runtime_accepts(cJSON *spec, const char *what) {
  char name[200];
  struct cell_err e = {0};
  struct cell_spec s = {0};
  cJSON *copy = cJSON_Duplicate(spec, 1);
  /* the merged root does not exist here: any directory does for the validator */
  cJSON_ReplaceItemInObject(J(copy, "root"), "path", cJSON_CreateString("/tmp"));
  int r = cell_spec_from_json(copy, "/tmp", &s, &e);
  snprintf(name, sizeof name, "%s: the runtime's spec validator accepts it", what);
  CHECK(r == 0, name);
  if (r < 0) printf("#   %s\n", e.msg);
  else cell_spec_free(&s);
  const cJSON *res = J(J(spec, "linux"), "resources");
  struct cell_cg_plan p1 = {0}, p2 = {0};
  snprintf(name, sizeof name, "%s: linux.resources renders for cgroup v1 and v2", what);
  int a = cell_cg_render(res, &cell_cg_driver_v1, NULL, &p1, &e);
  if (a < 0) printf("#   v1: %s\n", e.msg);
  int b = cell_cg_render(res, &cell_cg_driver_v2, "cpuset cpu io memory pids", &p2, &e);
  if (b < 0) printf("#   v2: %s\n", e.msg);
  CHECK(a == 0 && b == 0, name);
  cell_cg_plan_free(&p1);
  cell_cg_plan_free(&p2);
  struct cell_seccomp *sc = NULL;
  snprintf(name, sizeof name, "%s: the seccomp profile builds", what);
  r = cell_seccomp_build(J(J(spec, "linux"), "seccomp"), &sc, &e);
  CHECK(r == 0, name);
  if (r < 0) printf("#   %s\n", e.msg);
  cell_seccomp_free(sc);
}

static void test_unprivileged_systemd(void) {
  struct env_spec_in in = base_in();
  const char *extra[] = {"LANG=C.UTF-8", NULL};
  in.env = extra;
  in.netns_new = true;
  in.cellfs_views = true;
  cJSON *s;
  struct cell_err e = {0};
  CHECK(env_spec_build(&in, &s, &e) == 0, "systemd unprivileged: builds");
  const cJSON *p = J(s, "process");
  CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(J(p, "args"), 0)), "/sbin/init", "args: /sbin/init");
  CHECK(has_str(J(p, "env"), "container=cell"), "env: container=cell");
  CHECK(has_str(J(p, "env"), "container_uuid=0123456789abcdef0123456789ABCDEF"), "env: container_uuid");
  CHECK(has_str(J(p, "env"), "NOTIFY_SOCKET=" ENV_NOTIFY_SOCKET_PATH), "env: NOTIFY_SOCKET inside");
  CHECK(has_str(J(p, "env"), "LANG=C.UTF-8"), "env: the caller's extra variables");
  CHECK(!cJSON_IsTrue(J(p, "terminal")), "no terminal unless asked");
  CHECK(num(p, "user", "uid") == 0 && !cJSON_IsTrue(J(p, "noNewPrivileges")), "root, setuid programs work");
  const cJSON *caps = J(J(p, "capabilities"), "bounding");
  CHECK(has_str(caps, "CAP_SYS_ADMIN") && has_str(caps, "CAP_NET_ADMIN") && has_str(caps, "CAP_SYS_BOOT") &&
            has_str(caps, "CAP_MKNOD") && has_str(caps, "CAP_AUDIT_WRITE"),
        "caps: a full OS container's (sys_admin, net_admin, sys_boot, mknod, audit_write)");
  CHECK(!has_str(caps, "CAP_SYS_MODULE") && !has_str(caps, "CAP_SYS_TIME") && !has_str(caps, "CAP_SYS_RAWIO") &&
            !has_str(caps, "CAP_MAC_ADMIN") && !has_str(caps, "CAP_MAC_OVERRIDE"),
        "caps: LXC's drops (sys_module, sys_time, sys_rawio, mac_*)");
  CHECK_STR(cJSON_GetStringValue(J(J(s, "root"), "path")), in.rootfs, "root.path is the merged root");
  CHECK(!cJSON_IsTrue(J(J(s, "root"), "readonly")), "root is writable");
  CHECK_STR(cJSON_GetStringValue(J(s, "hostname")), "web1", "hostname defaults to the name");
  const char *nsp = NULL;
  CHECK(has_ns(s, "pid", NULL) && has_ns(s, "ipc", NULL) && has_ns(s, "uts", NULL) && has_ns(s, "mount", NULL) &&
            has_ns(s, "cgroup", NULL) && has_ns(s, "user", NULL) && has_ns(s, "network", &nsp) && !nsp,
        "namespaces: pid ipc uts mount cgroup user and a new network");
  const cJSON *lx = J(s, "linux");
  CHECK(num(cJSON_GetArrayItem(J(lx, "uidMappings"), 0), "hostID", NULL) == 1000000000 &&
            num(cJSON_GetArrayItem(J(lx, "uidMappings"), 0), "size", NULL) == 65536 &&
            num(cJSON_GetArrayItem(J(lx, "gidMappings"), 0), "containerID", NULL) == 0 &&
            num(cJSON_GetArrayItem(J(lx, "gidMappings"), 0), "hostID", NULL) == 1000000000,
        "uid/gid mappings: 0 -> the range's base, 65536 ids");
  CHECK_STR(cJSON_GetStringValue(J(lx, "cgroupsPath")), "cell-env/web1", "cgroupsPath defaults to cell-env/NAME");
  const cJSON *m = mount_at(s, "/run");
  CHECK(m && !strcmp(cJSON_GetStringValue(J(m, "type")), "tmpfs"), "/run is a tmpfs");
  m = mount_at(s, "/tmp");
  CHECK(m && !strcmp(cJSON_GetStringValue(J(m, "type")), "tmpfs") && has_str(J(m, "options"), "mode=1777"),
        "/tmp is a tmpfs, mode 1777");
  m = mount_at(s, "/sys");
  CHECK(m && !strcmp(cJSON_GetStringValue(J(m, "type")), "sysfs") && has_str(J(m, "options"), "ro"),
        "/sys: a read-only sysfs (the network namespace is the environment's)");
  m = mount_at(s, "/sys/fs/cgroup");
  CHECK(m && !strcmp(cJSON_GetStringValue(J(m, "type")), "cgroup") && has_str(J(m, "options"), "rw") &&
            !has_str(J(m, "options"), "ro"),
        "/sys/fs/cgroup: the cgroup namespace's tree, writable");
  m = mount_at(s, "/dev/pts");
  CHECK(m && has_str(J(m, "options"), "newinstance") && has_str(J(m, "options"), "ptmxmode=0666"),
        "/dev/pts: a new devpts instance with its ptmx");
  m = mount_at(s, ENV_NOTIFY_SOCKET_PATH);
  CHECK(m && !strcmp(cJSON_GetStringValue(J(m, "source")), in.notify_socket) && has_str(J(m, "options"), "bind"),
        "the notify socket is bound at /run/host/notify");
  CHECK(has_str(J(lx, "readonlyPaths"), "/proc/sys") && has_str(J(lx, "readonlyPaths"), "/proc/sysrq-trigger"),
        "/proc/sys is read-only");
  CHECK(has_str(J(lx, "maskedPaths"), "/proc/kcore") && has_str(J(lx, "maskedPaths"), "/sys/firmware"),
        "kcore and firmware are masked");
  const cJSON *sc = J(lx, "seccomp");
  CHECK_STR(cJSON_GetStringValue(J(sc, "defaultAction")), "SCMP_ACT_ALLOW", "seccomp: allow by default (systemd works)");
  bool blocks_mount = false, blocks_kexec = false, keyring_enosys = false;
  const cJSON *rule;
  cJSON_ArrayForEach(rule, J(sc, "syscalls")) {
    if (has_str(J(rule, "names"), "mount") || has_str(J(rule, "names"), "unshare") || has_str(J(rule, "names"), "clone"))
      blocks_mount = true;
    if (has_str(J(rule, "names"), "kexec_load") && num(rule, "errnoRet", NULL) == EPERM) blocks_kexec = true;
    if (has_str(J(rule, "names"), "keyctl") && num(rule, "errnoRet", NULL) == ENOSYS) keyring_enosys = true;
  }
  CHECK(!blocks_mount && blocks_kexec && keyring_enosys,
        "seccomp: kexec denied, keyring ENOSYS, mount/unshare/clone untouched");
  const cJSON *ann = J(s, "annotations");
  CHECK_STR(cJSON_GetStringValue(J(ann, "run.cell.fsview")), "true", "cellfs views annotation");
  CHECK_STR(cJSON_GetStringValue(J(ann, "run.cell.env.init")), "systemd", "init kind annotation");
  /* devices: deny by default, the standard nodes and ptys allowed */
  const cJSON *devs = J(J(lx, "resources"), "devices"), *d0 = cJSON_GetArrayItem(devs, 0);
  bool pts = false;
  cJSON_ArrayForEach(rule, devs) if (num(rule, "major", NULL) == 136 && cJSON_IsTrue(J(rule, "allow"))) pts = true;
  CHECK(!cJSON_IsTrue(J(d0, "allow")) && pts, "devices: deny all, then allow (ptys included)");
  runtime_accepts(s, "systemd unprivileged");
  cJSON_Delete(s);
}

static void test_privileged_and_modes(void) {
  struct env_spec_in in = base_in();
  in.privileged = true;
  in.uid_base = 0;
  in.caps_avail = ~(UINT64_C(1) << 24); /* no CAP_SYS_RESOURCE, as on this host */
  in.hostname = "web-1.example";
  in.netns_path = "/proc/self/ns/net"; /* exists: the validator opens it */
  cJSON *s;
  struct cell_err e = {0};
  CHECK(env_spec_build(&in, &s, &e) == 0, "privileged: builds");
  CHECK(!has_ns(s, "user", NULL) && !J(J(s, "linux"), "uidMappings"), "privileged: no user namespace, no mapping");
  const char *nsp = NULL;
  CHECK(has_ns(s, "network", &nsp) && nsp && !strcmp(nsp, "/proc/self/ns/net"), "network namespace joined by path");
  const cJSON *caps = J(J(J(s, "process"), "capabilities"), "permitted");
  CHECK(!has_str(caps, "CAP_SYS_RESOURCE") && has_str(caps, "CAP_SYS_ADMIN"),
        "caps_avail: nothing the caller does not hold");
  CHECK_STR(cJSON_GetStringValue(J(s, "hostname")), "web-1.example", "hostname given");
  runtime_accepts(s, "privileged");
  cJSON_Delete(s);

  /* unprivileged without a network namespace of its own: sysfs cannot be mounted */
  in = base_in();
  CHECK(env_spec_build(&in, &s, &e) == 0, "no netns: builds");
  const cJSON *m = mount_at(s, "/sys");
  CHECK(m && has_str(J(m, "options"), "rbind") && has_str(J(m, "options"), "ro") && !has_ns(s, "network", NULL),
        "userns without netns: /sys is a read-only bind of the host's");
  cJSON_Delete(s);

  /* busybox init: no NOTIFY_SOCKET (only systemd speaks it) */
  in = base_in();
  in.init = "busybox";
  in.terminal = true;
  CHECK(env_spec_build(&in, &s, &e) == 0, "busybox: builds");
  const cJSON *p = J(s, "process");
  CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(J(p, "args"), 0)), "/sbin/init", "busybox: /sbin/init");
  CHECK(!has_str(J(p, "env"), "NOTIFY_SOCKET=" ENV_NOTIFY_SOCKET_PATH), "busybox: no NOTIFY_SOCKET");
  CHECK(cJSON_IsTrue(J(p, "terminal")) && has_str(J(p, "env"), "TERM=linux"), "terminal: a pty console, TERM");
  runtime_accepts(s, "busybox");
  cJSON_Delete(s);

  /* an init by path, with arguments */
  in = base_in();
  in.init = "/usr/local/bin/myinit";
  const char *args[] = {"--foo", "bar", NULL};
  in.init_args = args;
  CHECK(env_spec_build(&in, &s, &e) == 0, "init PATH: builds");
  const cJSON *a = J(J(s, "process"), "args");
  CHECK(cJSON_GetArraySize(a) == 3 && !strcmp(cJSON_GetStringValue(cJSON_GetArrayItem(a, 0)), "/usr/local/bin/myinit") &&
            !strcmp(cJSON_GetStringValue(cJSON_GetArrayItem(a, 2)), "bar"),
        "init PATH: args are the path and the extra arguments");
  cJSON_Delete(s);

  enum env_init_kind k;
  CHECK(env_init_parse("systemd", &k, &e) == 0 && k == ENV_INIT_SYSTEMD && env_init_halt_signal(k) == SIGRTMIN + 3,
        "systemd halts on SIGRTMIN+3");
  CHECK(env_init_parse("busybox", &k, &e) == 0 && k == ENV_INIT_BUSYBOX && env_init_halt_signal(k) == SIGUSR2,
        "busybox halts on SIGUSR2");
  CHECK(env_init_parse("/sbin/x", &k, &e) == 0 && k == ENV_INIT_PATH && env_init_halt_signal(k) == SIGPWR,
        "another init: SIGPWR");
}

static void test_limits(void) {
  struct env_spec_in in = base_in();
  in.limits.memory = 512ull << 20;
  in.limits.swap = 256ull << 20;
  in.limits.cpus = 1.5;
  in.limits.cpu_weight = 100;
  in.limits.cpuset = "0-1";
  in.limits.pids = 300;
  in.limits.io_weight = 500;
  in.cgroups_path = "henv2/web1";
  cJSON *s;
  struct cell_err e = {0};
  CHECK(env_spec_build(&in, &s, &e) == 0, "limits: builds");
  const cJSON *r = J(J(s, "linux"), "resources");
  CHECK(num(r, "memory", "limit") == 512.0 * 1048576 && num(r, "memory", "swap") == 768.0 * 1048576,
        "memory limit; swap is memory+swap in the spec");
  CHECK(num(r, "cpu", "quota") == 150000 && num(r, "cpu", "period") == 100000, "cpus 1.5: quota 150000 / 100000");
  CHECK(cell_cg_shares_to_weight((unsigned long long)num(r, "cpu", "shares")) == 100,
        "cpu_weight 100 survives the runtime's shares -> weight conversion");
  for (unsigned w = 1; w <= 10000; w += 37) {
    in.limits.cpu_weight = w;
    cJSON *t;
    env_spec_build(&in, &t, &e);
    unsigned long long got = cell_cg_shares_to_weight((unsigned long long)num(J(J(t, "linux"), "resources"), "cpu", "shares"));
    cJSON_Delete(t);
    if (got != w) {
      printf("#   weight %u -> %llu\n", w, got);
      CHECK(got == w, "every cpu_weight survives the conversion");
      break;
    }
    if (w + 37 > 10000) CHECK(got == w, "every cpu_weight survives the conversion");
  }
  CHECK_STR(cJSON_GetStringValue(J(J(r, "cpu"), "cpus")), "0-1", "cpuset");
  CHECK(num(r, "pids", "limit") == 300, "pids limit");
  CHECK(num(r, "blockIO", "weight") == 500, "io weight");
  CHECK_STR(cJSON_GetStringValue(J(J(s, "linux"), "cgroupsPath")), "henv2/web1", "cgroupsPath given");
  runtime_accepts(s, "limits");
  cJSON_Delete(s);
  in.limits.cpus = 0.25;
  in.limits.cpu_period = 200000;
  CHECK(env_spec_build(&in, &s, &e) == 0 && num(J(J(s, "linux"), "resources"), "cpu", "quota") == 50000 &&
            num(J(J(s, "linux"), "resources"), "cpu", "period") == 200000,
        "cpus 0.25 with period 200000: quota 50000");
  cJSON_Delete(s);
}

/* Each bad input fails with a message naming its field, and builds nothing. */
static void bad(struct env_spec_in in, const char *field, const char *name) {
  cJSON *s = (cJSON *)1;
  struct cell_err e = {0};
  int r = env_spec_build(&in, &s, &e);
  bool ok = r < 0 && s == NULL && strstr(e.msg, field) == e.msg;
  CHECK(ok, name);
  if (!ok) printf("#   r=%d msg='%s'\n", r, e.msg);
}

static void test_errors(void) {
  struct env_spec_in in;
  in = base_in(), in.init = "sysvinit", bad(in, "init:", "init: an unknown name");
  in = base_in(), in.init = "sbin/init", bad(in, "init:", "init: a relative path");
  in = base_in(), in.rootfs = "rel/root", bad(in, "rootfs:", "rootfs: relative");
  in = base_in(), in.rootfs = NULL, bad(in, "rootfs:", "rootfs: missing");
  in = base_in(), in.name = "", bad(in, "name:", "name: empty");
  in = base_in(), in.hostname = "bad host", bad(in, "hostname:", "hostname: a space");
  in = base_in(), in.name = "a_b", bad(in, "hostname:", "hostname from a name with _");
  in = base_in(), in.uid_base = 0, bad(in, "uid_base:", "uid_base 0 unprivileged");
  in = base_in(), in.uid_count = 1000, bad(in, "uid_count:", "uid_count below 65536");
  in = base_in(), in.uid_base = 4294967000u, bad(in, "uid_base:", "range past the last uid");
  in = base_in(), in.uuid = "xyz", bad(in, "uuid:", "uuid: not hex");
  in = base_in(), in.limits.swap = 1 << 20, bad(in, "swap:", "swap without memory");
  in = base_in(), in.limits.memory = 100, bad(in, "memory:", "memory below a page");
  in = base_in(), in.limits.cpus = -1, bad(in, "cpus:", "cpus negative");
  in = base_in(), in.limits.cpus = 0.001, bad(in, "cpus:", "cpus under 1 ms a period");
  in = base_in(), in.limits.cpu_weight = 20000, bad(in, "cpu_weight:", "cpu_weight above 10000");
  in = base_in(), in.limits.cpuset = "0-1;rm", bad(in, "cpuset:", "cpuset with junk");
  in = base_in(), in.limits.pids = -5, bad(in, "pids:", "pids below -1");
  in = base_in(), in.limits.io_weight = 5, bad(in, "io_weight:", "io_weight below 10");
  in = base_in(), in.notify_socket = "notify", bad(in, "notify_socket:", "notify_socket relative");
  const char *env[] = {"NOVALUE", NULL};
  in = base_in(), in.env = env, bad(in, "env:", "env without =");
}

int main(void) {
  test_unprivileged_systemd();
  test_privileged_and_modes();
  test_limits();
  test_errors();
  UNIT_DONE();
}
