/* envspec.c - a test tool over env/spec.h and env/idrange.h, so the envspec
 * suite can boot an environment's spec with `cell run` before cellctl's
 * verbs exist, and drive the id-range allocator from many processes.
 *
 *   envspec spec --name N --rootfs DIR [--hostname H] [--init systemd|busybox|PATH]
 *                [--privileged] [--base B] [--uuid U] [--notify SOCK] [--netns]
 *                [--memory BYTES] [--swap BYTES] [--cpus N.N] [--cpu-weight W]
 *                [--cpuset L] [--pids N] [--io-weight W] [--cgroup PATH]
 *                [--views] [--terminal] [--delegate-hook EXE] [--env K=V]...
 *       prints config.json; --delegate-hook adds a createRuntime hook
 *       "EXE delegate SUFFIX UID" (SUFFIX: the cgroupsPath) for `cell run`
 *   envspec delegate SUFFIX UID     (an OCI hook: the state JSON on stdin)
 *   envspec idmap SRC DST BASE      idmapped copy of SRC at DST (65536 ids)
 *   envspec alloc ROOT NAME | free ROOT NAME | list ROOT | prune ROOT
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/idrange.h"
#include "env/spec.h"

static int die(const struct cell_err *err) {
  fprintf(stderr, "envspec: %s\n", err->msg);
  return 1;
}

static int usage(void) {
  fprintf(stderr, "usage: envspec spec|delegate|idmap|alloc|free|list|prune ... (see tests/envspec/envspec.c)\n");
  return 2;
}

static unsigned long long num(const char *s) { return strtoull(s, NULL, 0); }

static int cmd_spec(int argc, char **argv) {
  struct env_spec_in in = {0};
  const char *envs[64] = {0}, *hook = NULL;
  size_t nenv = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (!strcmp(a, name) && v && ++i)
    if (OPT("--name")) in.name = v;
    else if (OPT("--rootfs")) in.rootfs = v;
    else if (OPT("--hostname")) in.hostname = v;
    else if (OPT("--init")) in.init = v;
    else if (!strcmp(a, "--privileged")) in.privileged = true;
    else if (OPT("--base")) in.uid_base = (unsigned)num(v);
    else if (OPT("--uuid")) in.uuid = v;
    else if (OPT("--notify")) in.notify_socket = v;
    else if (!strcmp(a, "--netns")) in.netns_new = true;
    else if (OPT("--memory")) in.limits.memory = num(v);
    else if (OPT("--swap")) in.limits.swap = num(v);
    else if (OPT("--cpus")) in.limits.cpus = strtod(v, NULL);
    else if (OPT("--cpu-weight")) in.limits.cpu_weight = num(v);
    else if (OPT("--cpuset")) in.limits.cpuset = v;
    else if (OPT("--pids")) in.limits.pids = strtoll(v, NULL, 0);
    else if (OPT("--io-weight")) in.limits.io_weight = (uint16_t)num(v);
    else if (OPT("--cgroup")) in.cgroups_path = v;
    else if (!strcmp(a, "--views")) in.cellfs_views = true;
    else if (!strcmp(a, "--terminal")) in.terminal = true;
    else if (!strcmp(a, "--idmapped")) in.idmap_rootfs = true;
    else if (OPT("--delegate-hook")) hook = v;
    else if (OPT("--env") && nenv < 63) envs[nenv++] = v;
    else return usage();
#undef OPT
  }
  in.env = envs;
  in.caps_avail = env_spec_host_caps();
  cJSON *spec;
  struct cell_err err = {0};
  if (env_spec_build(&in, &spec, &err) < 0) return die(&err);
  if (hook && !in.privileged) {
    char cg[600], uid[32];
    const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(spec, "linux"), "cgroupsPath"));
    snprintf(cg, sizeof cg, "%s", path);
    snprintf(uid, sizeof uid, "%u", in.uid_base);
    cJSON *hooks = cJSON_AddObjectToObject(spec, "hooks");
    cJSON *arr = cJSON_AddArrayToObject(hooks, "createRuntime");
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "path", hook);
    const char *args[] = {"envspec", "delegate", cg, uid};
    cJSON_AddItemToObject(h, "args", cJSON_CreateStringArray(args, 4));
    cJSON_AddItemToArray(arr, h);
  }
  char *text = cJSON_Print(spec);
  puts(text);
  free(text);
  cJSON_Delete(spec);
  return 0;
}

static int cmd_delegate(const char *suffix, const char *uid) {
  char buf[65536];
  size_t n = fread(buf, 1, sizeof buf - 1, stdin);
  buf[n] = 0;
  cJSON *st = cJSON_Parse(buf);
  cJSON *pid = st ? cJSON_GetObjectItem(st, "pid") : NULL;
  if (!cJSON_IsNumber(pid)) {
    fprintf(stderr, "envspec delegate: no pid in the state on stdin\n");
    cJSON_Delete(st);
    return 1;
  }
  struct cell_err err = {0};
  int rc = env_spec_delegate_cgroups(pid->valueint, suffix, (unsigned)num(uid), (unsigned)num(uid), &err);
  cJSON_Delete(st);
  return rc < 0 ? die(&err) : 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return usage();
  struct cell_err err = {0};
  const char *c = argv[1];
  if (!strcmp(c, "spec")) return cmd_spec(argc - 2, argv + 2);
  if (!strcmp(c, "delegate") && argc == 4) return cmd_delegate(argv[2], argv[3]);
  if (!strcmp(c, "idmap") && argc == 5)
    return env_idrange_idmap_mount(argv[2], argv[3], (unsigned)num(argv[4]), ENV_IDRANGE_SIZE, &err) < 0 ? die(&err) : 0;
  if (!strcmp(c, "alloc") && argc == 4) {
    unsigned base;
    if (env_idrange_alloc(argv[2], argv[3], &base, &err) < 0) return die(&err);
    printf("%u\n", base);
    return 0;
  }
  if (!strcmp(c, "free") && argc == 4) return env_idrange_free(argv[2], argv[3], &err) < 0 ? die(&err) : 0;
  if (!strcmp(c, "prune") && argc == 3) {
    size_t removed;
    if (env_idrange_prune(argv[2], NULL, NULL, &removed, &err) < 0) return die(&err);
    printf("%zu\n", removed);
    return 0;
  }
  if (!strcmp(c, "list") && argc == 3) {
    struct env_idrange *v;
    size_t n;
    if (env_idrange_list(argv[2], &v, &n, &err) < 0) return die(&err);
    for (size_t i = 0; i < n; i++) printf("%u %s\n", v[i].base, v[i].name);
    free(v);
    return 0;
  }
  return usage();
}
