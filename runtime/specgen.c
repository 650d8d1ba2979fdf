/* specgen.c - the default config.json written by `cell spec`, matching
 * what `runc spec` writes (and its --rootless variant). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/spec.h"

static const char default_spec[] =
    "{\"ociVersion\":\"1.2.0\","
    "\"process\":{\"terminal\":true,\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],"
    "\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"TERM=xterm\"],"
    "\"cwd\":\"/\","
    "\"capabilities\":{"
    "\"bounding\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
    "\"effective\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
    "\"permitted\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
    "\"ambient\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"]},"
    "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],"
    "\"noNewPrivileges\":true},"
    "\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
    "\"hostname\":\"cell\","
    "\"mounts\":["
    "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
    "{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\",\"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]},"
    "{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\",\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},"
    "{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\",\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},"
    "{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\",\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},"
    "{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\",\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]}],"
    "\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
    "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"cgroup\"}],"
    "\"maskedPaths\":[\"/proc/acpi\",\"/proc/asound\",\"/proc/kcore\",\"/proc/keys\",\"/proc/latency_stats\",\"/proc/timer_list\","
    "\"/proc/timer_stats\",\"/proc/sched_debug\",\"/sys/firmware\",\"/proc/scsi\"],"
    "\"readonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\",\"/proc/sysrq-trigger\"]}}";

char *cell_spec_default(bool rootless) {
  cJSON *o = cJSON_Parse(default_spec);
  if (!o) return NULL;
  if (rootless) {
    cJSON *lx = cJSON_GetObjectItem(o, "linux");
    cJSON_DeleteItemFromObject(lx, "resources");
    cJSON *ns = cJSON_GetObjectItem(lx, "namespaces");
    for (int i = cJSON_GetArraySize(ns) - 1; i >= 0; i--) {
      cJSON *t = cJSON_GetObjectItem(cJSON_GetArrayItem(ns, i), "type");
      if (t && !strcmp(t->valuestring, "network")) cJSON_DeleteItemFromArray(ns, i);
    }
    cJSON *u = cJSON_CreateObject();
    cJSON_AddStringToObject(u, "type", "user");
    cJSON_AddItemToArray(ns, u);
    const char *maps[] = {"uidMappings", "gidMappings"};
    unsigned long ids[] = {(unsigned long)getuid(), (unsigned long)getgid()};
    for (int i = 0; i < 2; i++) {
      cJSON *arr = cJSON_AddArrayToObject(lx, maps[i]);
      cJSON *m = cJSON_CreateObject();
      cJSON_AddNumberToObject(m, "containerID", 0);
      cJSON_AddNumberToObject(m, "hostID", (double)ids[i]);
      cJSON_AddNumberToObject(m, "size", 1);
      cJSON_AddItemToArray(arr, m);
    }
    /* sysfs cannot be mounted without a network namespace owned by the user ns: bind it. */
    cJSON *mounts = cJSON_GetObjectItem(o, "mounts");
    for (int i = cJSON_GetArraySize(mounts) - 1; i >= 0; i--) {
      cJSON *m = cJSON_GetArrayItem(mounts, i);
      const char *d = cJSON_GetObjectItem(m, "destination")->valuestring;
      if (!strcmp(d, "/sys/fs/cgroup")) {
        cJSON_DeleteItemFromArray(mounts, i);
      } else if (!strcmp(d, "/sys")) {
        cJSON_ReplaceItemInObject(m, "type", cJSON_CreateString("none"));
        cJSON_ReplaceItemInObject(m, "source", cJSON_CreateString("/sys"));
        cJSON *opts = cJSON_CreateArray();
        const char *ol[] = {"rbind", "nosuid", "noexec", "nodev", "ro"};
        for (size_t k = 0; k < 5; k++) cJSON_AddItemToArray(opts, cJSON_CreateString(ol[k]));
        cJSON_ReplaceItemInObject(m, "options", opts);
      } else if (!strcmp(d, "/dev/pts") || !strcmp(d, "/dev/mqueue")) {
        cJSON *opts = cJSON_GetObjectItem(m, "options");
        for (int k = cJSON_GetArraySize(opts) - 1; k >= 0; k--)
          if (!strcmp(cJSON_GetArrayItem(opts, k)->valuestring, "gid=5")) cJSON_DeleteItemFromArray(opts, k);
      }
    }
  }
  char *text = cJSON_Print(o);
  cJSON_Delete(o);
  return text;
}
