/* test_hook - netns_hook as the runtime's netns hook (runtime/container.h):
 * a container created in-process gets its endpoint before its process runs
 * (the process sees eth0 with the leased address and the default route);
 * deleting the container leaves a stale lease the next command drops; a
 * hook naming a missing network fails create and leaves no lease or link.
 * The test runs in a network namespace of its own (the "host" side). */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/file.h"
#include "netns/netns.h"
#include "runtime/container.h"
#include "unit.h"

static char rootfs[PATH_MAX], root[PATH_MAX], bundle[PATH_MAX], netroot[PATH_MAX];

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
  cJSON *mounts = cJSON_AddArrayToObject(c, "mounts");
  cJSON *m = cJSON_CreateObject();
  cJSON_AddStringToObject(m, "destination", "/proc");
  cJSON_AddStringToObject(m, "type", "proc");
  cJSON_AddStringToObject(m, "source", "proc");
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

static size_t leases(const char *net) {
  struct netns_endpoint *e = NULL;
  size_t n = 0;
  struct cell_err err = {0};
  if (netns_endpoints(netroot, net, &e, &n, &err) < 0) printf("# %s\n", err.msg);
  free(e);
  return n;
}

static void test_hook_attach(void) {
  char id[64];
  snprintf(id, sizeof id, "hnet-hook-%d", (int)getpid());
  cJSON *cfg = make_config(id, "ip -o -4 addr show eth0; ip -o -6 addr show eth0 scope global; ip route");
  struct netns_attach_opts ao = {.network = "hnethook", .netns_fd = -1, .hostname = "hooked"};
  struct netns_endpoint ep = {0};
  struct netns_hook_data hd = {netroot, &ao, 1, &ep};
  struct cell_create_hooks hooks = {.netns = netns_hook, .data = &hd};
  struct cell_create_opts o = {.root = root, .id = id, .bundle = bundle, .config = cfg, .hooks = &hooks};
  struct cell_created out;
  struct cell_err err = {0};
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0) return;
  fflush(stdout);
  int saved = dup(1);
  dup2(pfd[1], 1);
  int rc = cell_container_create(&o, &out, &err);
  dup2(saved, 1);
  close(saved);
  close(pfd[1]);
  cJSON_Delete(cfg);
  CHECK(rc == 0, "create with netns_hook as the netns hook");
  if (rc) {
    printf("# %s\n", err.msg);
    close(pfd[0]);
    return;
  }
  CHECK_STR(ep.ip4, "10.66.0.2", "the hook handed back the endpoint (first address of the subnet)");
  CHECK(leases("hnethook") == 1, "one lease while the container lives");
  CHECK(cell_container_start(root, id, &err) == 0, "start");
  char buf[2048];
  size_t n = 0;
  struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
  while (n < sizeof buf - 1 && poll(&pf, 1, 10000) > 0) {
    ssize_t r = read(pfd[0], buf + n, sizeof buf - 1 - n);
    if (r <= 0) break;
    n += (size_t)r;
  }
  buf[n] = 0;
  close(pfd[0]);
  CHECK(strstr(buf, "inet 10.66.0.2/24") != NULL, "the process sees eth0 with the leased IPv4 address");
  CHECK(strstr(buf, "inet6 fd66::2/64") != NULL, "and the IPv6 one");
  CHECK(strstr(buf, "default via 10.66.0.1 dev eth0") != NULL, "and the default route");
  if (!strstr(buf, "default via")) printf("# container said: %s\n", buf);
  int wst;
  waitpid(out.pid, &wst, 0);
  CHECK(cell_container_delete(root, id, false, &err) == 0, "delete");
  /* the namespace is gone, and the veth with it: the lease is stale */
  int gone = 0;
  for (int i = 0; i < 200 && !gone; i++) {
    gone = leases("hnethook") == 0;
    if (!gone) usleep(10000);
  }
  CHECK(gone, "after delete, the next command drops the stale lease");
}

static void test_hook_fails(void) {
  char id[64];
  snprintf(id, sizeof id, "hnet-hookf-%d", (int)getpid());
  cJSON *cfg = make_config(id, "echo must-not-run");
  struct netns_attach_opts ao[2] = {{.network = "hnethook", .netns_fd = -1},
                                    {.network = "hnetnosuch", .netns_fd = -1}};
  struct netns_hook_data hd = {netroot, ao, 2, NULL};
  struct cell_create_hooks hooks = {.netns = netns_hook, .data = &hd};
  struct cell_create_opts o = {.root = root, .id = id, .bundle = bundle, .config = cfg, .hooks = &hooks};
  struct cell_created out;
  struct cell_err err = {0};
  int rc = cell_container_create(&o, &out, &err);
  cJSON_Delete(cfg);
  CHECK(rc == -1 && strstr(err.msg, "hnetnosuch"), "a hook naming a missing network fails create, naming it");
  CHECK(leases("hnethook") == 0, "the endpoint attached before the failure was detached");
}

int main(void) {
  char top[PATH_MAX];
  if (geteuid() != 0 || !getcwd(top, sizeof top)) {
    printf("not ok 1 - test_hook needs root\n1..1\n");
    return 1;
  }
  snprintf(rootfs, sizeof rootfs, "%s/build/fixtures/rootfs", top);
  char bb[PATH_MAX + 16];
  snprintf(bb, sizeof bb, "%s/bin/busybox", rootfs);
  if (access(bb, X_OK) != 0) {
    pid_t p = fork();
    if (p == 0) {
      int nul = open("/dev/null", O_WRONLY);
      dup2(nul, 1);
      execl("tests/fixtures/mkrootfs.sh", "mkrootfs.sh", (char *)NULL);
      _exit(127);
    }
    int st;
    waitpid(p, &st, 0);
  }
  if (access(bb, X_OK) != 0) {
    printf("not ok 1 - build/fixtures/rootfs (tests/fixtures/mkrootfs.sh) is missing\n1..1\n");
    return 1;
  }
  /* the "host" side of this test: a network namespace of its own */
  if (unshare(CLONE_NEWNET) < 0) {
    printf("not ok 1 - unshare(CLONE_NEWNET)\n1..1\n");
    return 1;
  }
  snprintf(root, sizeof root, "/tmp/hnet-hook-root-XXXXXX");
  snprintf(bundle, sizeof bundle, "/tmp/hnet-hook-bundle-XXXXXX");
  snprintf(netroot, sizeof netroot, "/tmp/hnet-hook-net-XXXXXX");
  if (!mkdtemp(root) || !mkdtemp(bundle) || !mkdtemp(netroot)) return 1;
  chmod(netroot, 0755); /* dnsmasq (user nobody) reads its files below */
  struct netns_network net = {.type = NETNS_BRIDGE};
  snprintf(net.name, sizeof net.name, "hnethook");
  snprintf(net.subnet4, sizeof net.subnet4, "10.66.0.0/24");
  snprintf(net.subnet6, sizeof net.subnet6, "fd66::/64");
  struct cell_err err = {0};
  CHECK(netns_net_create(netroot, &net, &err) == 0, "a bridge network");
  if (err.msg[0]) printf("# %s\n", err.msg);
  test_hook_attach();
  test_hook_fails();
  CHECK(netns_net_rm(netroot, "hnethook", &err) == 0, "net rm");
  if (err.msg[0]) printf("# %s\n", err.msg);
  cell_rm_rf_at(AT_FDCWD, netroot);
  rmdir(root);
  rmdir(bundle);
  UNIT_DONE();
}
