/* test_spec.c - config.json loading (runtime/spec.c): every major field, the
 * errors naming the field, the engines' own configs and process.json. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/caps.h"
#include "runtime/hooks.h"
#include "runtime/procattr.h"
#include "runtime/spec.h"
#include "unit.h"
#include "unit_child.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static char bundle[64], rootfs[128];
static struct cell_err err;

/* {"ociVersion":"1.2.0","root":{"path":"rootfs"},FRAG} through cell_spec_from_json. */
static int parse(const char *frag, struct cell_spec *s) {
  char text[16384];
  snprintf(text, sizeof text, "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"}%s%s}", *frag ? "," : "", frag);
  memset(&err, 0, sizeof err);
  return cell_spec_from_json(J(text), bundle, s, &err);
}

/* A whole document (no defaults added). */
static int parse_doc(const char *text, struct cell_spec *s) {
  memset(&err, 0, sizeof err);
  return cell_spec_from_json(J(text), bundle, s, &err);
}

static void fails(const char *frag, const char *want, const char *name) {
  struct cell_spec s;
  CHECK(parse(frag, &s) < 0, name);
  CHECK_STR(err.msg, want, name);
  cell_spec_free(&s);
}

static void doc_fails(const char *text, const char *want, const char *name) {
  struct cell_spec s;
  CHECK(parse_doc(text, &s) < 0, name);
  CHECK_STR(err.msg, want, name);
  cell_spec_free(&s);
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  ssize_t w = write(fd, text, strlen(text));
  close(fd);
  return w == (ssize_t)strlen(text) ? 0 : -1;
}

static void test_minimal(void) {
  struct cell_spec s;
  int r = parse("", &s);
  CHECK(r == 0, "minimal config parses");
  if (r) printf("#   %s\n", err.msg);
  char real[PATH_MAX];
  CHECK(realpath(bundle, real) && !strcmp(s.bundle, real), "bundle is made absolute");
  CHECK(realpath(rootfs, real) && !strcmp(s.rootfs, real), "root.path is resolved against the bundle");
  CHECK(!s.root_readonly && !s.process && !s.args && s.nmounts == 0 && s.nns == 0 && !s.hostname,
        "minimal: no process, mounts, namespaces or hostname");
  CHECK(s.rootfs_propagation == 0 && !s.cgroups_path && !s.hooks && !s.annotations, "minimal: defaults are empty");
  cell_spec_free(&s);

  /* through cell_spec_load, from <bundle>/config.json */
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/config.json", bundle);
  write_file(path, "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"rootfs\",\"readonly\":true}}\n");
  memset(&err, 0, sizeof err);
  r = cell_spec_load(bundle, &s, &err);
  CHECK(r == 0 && s.root_readonly, "cell_spec_load reads config.json, root.readonly");
  cell_spec_free(&s);
  write_file(path, "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"rootfs\"}} {}");
  memset(&err, 0, sizeof err);
  CHECK(cell_spec_load(bundle, &s, &err) < 0, "data after the document is refused");
  CHECK_STR(err.msg, "config.json: unexpected data after the JSON document at byte 48", "trailing data message");
  cell_spec_free(&s);
  write_file(path, "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"a\",\"b\\u0000c\"]}}");
  memset(&err, 0, sizeof err);
  CHECK(cell_spec_load(bundle, &s, &err) < 0, "a NUL byte in a string is refused");
  CHECK(!strncmp(err.msg, "process.args[1]: a string contains a NUL byte", 45), "NUL message names process.args[1]");
  cell_spec_free(&s);
  write_file(path, "{\"ociVersion\": ");
  memset(&err, 0, sizeof err);
  CHECK(cell_spec_load(bundle, &s, &err) < 0 && !strncmp(err.msg, "config.json: invalid JSON near byte", 35),
        "invalid JSON names config.json");
  cell_spec_free(&s);
  unlink(path);
  memset(&err, 0, sizeof err);
  CHECK(cell_spec_load(bundle, &s, &err) < 0 && strstr(err.msg, "/config.json: No such file or directory"),
        "missing config.json names the file");
  cell_spec_free(&s);
}

static void test_version_root(void) {
  doc_fails("{\"root\":{\"path\":\"rootfs\"}}", "ociVersion: required string is missing", "ociVersion missing");
  doc_fails("{\"ociVersion\":1,\"root\":{\"path\":\"rootfs\"}}", "ociVersion: required string is missing",
            "ociVersion a number");
  doc_fails("{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"rootfs\"}}",
            "ociVersion: unsupported version \"2.0.0\" (1.x expected)", "ociVersion 2.0.0");
  doc_fails("[]", "config.json: must be a JSON object", "document not an object");
  doc_fails("{\"ociVersion\":\"1.2.0\"}", "root: required object is missing", "root missing");
  doc_fails("{\"ociVersion\":\"1.2.0\",\"root\":{}}", "root.path: required field is missing", "root.path missing");
  doc_fails("{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":7}}", "root.path: must be a string", "root.path a number");
  doc_fails("{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"/\"}}",
            "root.path: resolves to the host's root directory /", "root.path / refused");
  struct cell_spec s;
  CHECK(parse_doc("{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"nope\"}}", &s) < 0 &&
            !strncmp(err.msg, "root.path: ", 11) && strstr(err.msg, "No such file or directory"),
        "root.path missing directory names root.path");
  cell_spec_free(&s);
  CHECK(parse_doc("{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs/file\"}}", &s) < 0 &&
            !strncmp(err.msg, "root.path: ", 11) && strstr(err.msg, "Not a directory"),
        "root.path a file is refused");
  cell_spec_free(&s);
  doc_fails("{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\",\"readonly\":\"yes\"}}",
            "root.readonly: must be a boolean", "root.readonly a string");
}

static void test_process(void) {
  struct cell_spec s;
  int r = parse("\"process\":{\"args\":[\"/bin/sh\",\"-c\",\"x\"],\"env\":[\"A=1\",\"PATH=/bin\"],\"cwd\":\"/work\","
                "\"terminal\":true,\"consoleSize\":{\"height\":25,\"width\":80},"
                "\"user\":{\"uid\":1000,\"gid\":100,\"additionalGids\":[5,6],\"umask\":18},"
                "\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\"],\"effective\":[\"CAP_KILL\"]},"
                "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1024,\"hard\":2048}],"
                "\"noNewPrivileges\":true}",
                &s);
  CHECK(r == 0, "full process parses");
  if (r) printf("#   %s\n", err.msg);
  CHECK(s.args && !strcmp(s.args[0], "/bin/sh") && !strcmp(s.args[2], "x") && !s.args[3], "process.args");
  CHECK(s.env && !strcmp(s.env[0], "A=1") && !strcmp(s.env[1], "PATH=/bin") && !s.env[2], "process.env");
  CHECK_STR(s.cwd, "/work", "process.cwd");
  CHECK(s.terminal && s.console_height == 25 && s.console_width == 80, "process.terminal and consoleSize");
  /* user, capabilities and rlimits: the subtree kept for procattr and caps */
  struct cell_procattr pa;
  struct cell_err e2 = {0};
  r = cell_procattr_prepare(s.process, s.linux_obj, &pa, &e2);
  CHECK(r == 0 && pa.uid == 1000 && pa.gid == 100 && pa.n_gids == 2 && pa.gids[0] == 5 && pa.gids[1] == 6,
        "process.user from the kept subtree");
  CHECK(r == 0 && pa.has_umask && pa.umask == 18 && pa.no_new_privileges, "process.user.umask, noNewPrivileges");
  CHECK(r == 0 && pa.n_rlimits == 1 && pa.rlimits[0].resource == RLIMIT_NOFILE && pa.rlimits[0].lim.rlim_cur == 1024 &&
            pa.rlimits[0].lim.rlim_max == 2048,
        "process.rlimits");
  if (r == 0) cell_procattr_free(&pa);
  struct cell_caps c;
  r = cell_caps_parse(cJSON_GetObjectItem(s.process, "capabilities"), &c, &e2);
  CHECK(r == 0 && cell_caps_bounding(&c) == ((1ULL << 0) | (1ULL << 5)) && cell_caps_effective(&c) == (1ULL << 5) &&
            c.present[CELL_CAPS_BOUNDING] && !c.present[CELL_CAPS_AMBIENT],
        "process.capabilities sets");
  cell_spec_free(&s);

  r = parse("\"process\":{\"args\":[\"true\"]}", &s);
  CHECK(r == 0 && !strcmp(s.cwd, "/") && !s.env && !s.terminal, "process.cwd defaults to /");
  cell_spec_free(&s);

  fails("\"process\":{}", "process.args: required field is missing", "process.args missing");
  fails("\"process\":{\"args\":[]}", "process.args: must not be empty", "process.args empty");
  fails("\"process\":{\"args\":\"sh\"}", "process.args: must be an array of strings", "process.args a string");
  fails("\"process\":{\"args\":[\"sh\",1]}", "process.args[1]: must be a string", "process.args[1] a number");
  fails("\"process\":{\"args\":[\"sh\"],\"env\":[true]}", "process.env[0]: must be a string", "process.env[0] a bool");
  fails("\"process\":{\"args\":[\"sh\"],\"cwd\":\"work\"}", "process.cwd: \"work\" must be an absolute path",
        "process.cwd relative");
  fails("\"process\":{\"args\":[\"sh\"],\"cwd\":5}", "process.cwd: must be a string", "process.cwd a number");
  fails("\"process\":{\"args\":[\"sh\"],\"terminal\":\"yes\"}", "process.terminal: must be a boolean",
        "process.terminal a string");
  fails("\"process\":{\"args\":[\"sh\"],\"user\":\"root\"}", "process.user: must be an object", "process.user a string");
  fails("\"process\":{\"args\":[\"sh\"],\"consoleSize\":{\"height\":-1}}",
        "process.consoleSize.height: must be an integer between 0 and 65535", "consoleSize.height negative");
  fails("\"process\":[]", "process: must be an object", "process an array");

  /* errors of the process modules name their fields too */
  r = parse("\"process\":{\"args\":[\"sh\"],\"rlimits\":[{\"type\":\"RLIMIT_FOO\",\"soft\":1,\"hard\":1}],"
            "\"capabilities\":{\"bounding\":[\"CAP_NOPE\"]}}",
            &s);
  CHECK(r == 0, "spec leaves rlimits and capabilities to their modules");
  memset(&e2, 0, sizeof e2);
  CHECK(cell_procattr_prepare(s.process, s.linux_obj, &pa, &e2) < 0 && strstr(e2.msg, "process.rlimits[0].type"),
        "unknown rlimit names process.rlimits[0].type");
  memset(&e2, 0, sizeof e2);
  CHECK(cell_caps_parse(cJSON_GetObjectItem(s.process, "capabilities"), &c, &e2) < 0 &&
            strstr(e2.msg, "process.capabilities.bounding[0]"),
        "unknown capability names process.capabilities.bounding[0]");
  cell_spec_free(&s);
}

static void test_mounts(void) {
  struct cell_spec s;
  int r = parse("\"mounts\":["
                "{\"destination\":\"/tmp\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
                "\"options\":[\"ro\",\"nosuid\",\"nodev\",\"noexec\",\"relatime\",\"size=65536k\",\"mode=755\"]},"
                "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"data\",\"options\":[\"rbind\",\"rslave\",\"rro\"]},"
                "{\"destination\":\"/etc/x\",\"source\":\"/etc/hostname\",\"options\":[\"bind\",\"ro\",\"rw\",\"private\"]},"
                "{\"destination\":\"/m\",\"type\":\"tmpfs\",\"options\":[\"tmpcopyup\",\"exec\",\"noexec\",\"suid\",\"rnosuid\",\"rrw\"]}"
                "]",
                &s);
  CHECK(r == 0 && s.nmounts == 4, "four mounts parse");
  if (r) printf("#   %s\n", err.msg);
  if (r) return;
  struct cell_mount *m = &s.mounts[0];
  CHECK(m->flags == (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME), "options -> MS_ flags");
  CHECK_STR(m->data, "size=65536k,mode=755", "unknown options -> data, in order");
  CHECK(!m->bind && !m->rec && m->propagation == 0 && !m->attr_set, "tmpfs: no bind, propagation or attrs");
  CHECK_STR(m->type, "tmpfs", "mounts[0].type");
  CHECK_STR(m->destination, "/tmp", "mounts[0].destination");
  m = &s.mounts[1];
  char want[PATH_MAX + 8], real[PATH_MAX];
  snprintf(want, sizeof want, "%s/data", realpath(bundle, real) ? real : bundle);
  CHECK_STR(m->source, want, "relative bind source is made absolute against the bundle");
  CHECK(m->bind && m->rec && (m->flags & MS_BIND) && (m->flags & MS_REC), "rbind -> bind + recursive");
  CHECK(m->propagation == (MS_SLAVE | MS_REC), "rslave -> MS_SLAVE|MS_REC");
  CHECK(m->attr_set == 0x1 /* MOUNT_ATTR_RDONLY */ && !m->attr_clr && !(m->flags & MS_RDONLY), "rro -> attr_set RDONLY");
  CHECK(!m->data, "no data for a bind with known options");
  m = &s.mounts[2];
  CHECK(m->bind && !m->rec && !(m->flags & MS_RDONLY) && m->propagation == MS_PRIVATE && !m->type,
        "bind,ro,rw: rw clears ro; private; no type needed");
  m = &s.mounts[3];
  CHECK(m->copyup && (m->flags & MS_NOEXEC) && !(m->flags & MS_NOSUID), "tmpcopyup; later option wins");
  CHECK(m->attr_set == 0x2 && m->attr_clr == 0x1, "rnosuid set, rrw clears RDONLY");
  cell_spec_free(&s);

  /* every propagation option */
  static const struct {
    const char *opt;
    unsigned long flag;
  } props[] = {{"shared", MS_SHARED}, {"rshared", MS_SHARED | MS_REC}, {"slave", MS_SLAVE},
               {"private", MS_PRIVATE}, {"rprivate", MS_PRIVATE | MS_REC}, {"unbindable", MS_UNBINDABLE},
               {"runbindable", MS_UNBINDABLE | MS_REC}};
  int ok = 1;
  for (size_t i = 0; i < sizeof props / sizeof *props; i++) {
    struct cell_mount mm = {0};
    char opts[64];
    snprintf(opts, sizeof opts, "[\"%s\"]", props[i].opt);
    cJSON *o = J(opts);
    if (cell_mount_parse_options(o, "mounts[0]", &mm, &err) < 0 || mm.propagation != props[i].flag) ok = 0;
    cJSON_Delete(o);
    free(mm.data);
  }
  CHECK(ok, "propagation options map to MS_ flags");

  /* idmap options */
  r = parse("\"mounts\":[{\"destination\":\"/a\",\"source\":\"/tmp\",\"type\":\"bind\",\"options\":[\"ridmap\"]}]", &s);
  CHECK(r == 0 && s.mounts[0].idmap && s.mounts[0].rec && !s.mounts[0].nuidmap, "ridmap: idmap, recursive, no own mappings");
  cell_spec_free(&s);
  r = parse("\"mounts\":[{\"destination\":\"/a\",\"source\":\"/tmp\",\"type\":\"bind\","
            "\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
            "\"gidMappings\":[{\"containerID\":0,\"hostID\":200000,\"size\":1000}]}]",
            &s);
  CHECK(r == 0 && s.mounts[0].idmap && s.mounts[0].nuidmap == 1 && s.mounts[0].uidmap[0].host == 100000 &&
            s.mounts[0].gidmap[0].size == 1000,
        "mount uid/gid mappings imply idmap");
  cell_spec_free(&s);
  fails("\"mounts\":[{\"destination\":\"/a\",\"source\":\"/tmp\",\"type\":\"bind\","
        "\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}]",
        "mounts[0]: uidMappings and gidMappings must be given together", "mount uidMappings alone");
  fails("\"mounts\":[{\"destination\":\"/a\",\"type\":\"tmpfs\","
        "\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}],"
        "\"gidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}]",
        "mounts[0]: uidMappings/gidMappings need a bind mount", "idmapped tmpfs refused");
  fails("\"mounts\":[{\"destination\":\"/a\",\"source\":\"/tmp\",\"type\":\"bind\","
        "\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":0}],"
        "\"gidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}]",
        "mounts[0].uidMappings[0]: containerID, hostID and a non-zero size are required", "mapping of size 0");

  fails("\"mounts\":{}", "mounts: must be an array", "mounts an object");
  fails("\"mounts\":[1]", "mounts[0]: must be an object", "mounts[0] a number");
  fails("\"mounts\":[{\"type\":\"tmpfs\"}]", "mounts[0].destination: required field is missing", "destination missing");
  fails("\"mounts\":[{\"destination\":\"tmp\",\"type\":\"tmpfs\"}]",
        "mounts[0].destination: \"tmp\" must be an absolute path", "destination relative");
  fails("\"mounts\":[{\"destination\":\"/t\",\"type\":\"tmpfs\"},{\"destination\":\"/x\"}]",
        "mounts[1].type: required for a non-bind mount", "type missing on mounts[1]");
  fails("\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\"}]", "mounts[0].source: required for a bind mount",
        "bind without source");
  fails("\"mounts\":[{\"destination\":\"/x\",\"type\":3}]", "mounts[0].type: must be a string", "type a number");
  fails("\"mounts\":[{\"destination\":\"/x\",\"type\":\"tmpfs\",\"options\":\"ro\"}]",
        "mounts[0].options: must be an array of strings", "options a string");
  fails("\"mounts\":[{\"destination\":\"/x\",\"type\":\"tmpfs\",\"options\":[\"ro\",2]}]",
        "mounts[0].options[1]: must be a string", "options[1] a number");
  fails("\"mounts\":[{\"destination\":\"/x\",\"type\":\"tmpfs\",\"options\":[\"\"]}]",
        "mounts[0].options[0]: empty option", "empty option");
  fails("\"mounts\":[{\"destination\":\"/x\",\"type\":\"tmpfs\",\"options\":[\"size=1k,mode=700\"]}]",
        "mounts[0].options[0]: \"size=1k,mode=700\" must not contain ','", "option with a comma");
}

static void test_namespaces(void) {
  struct cell_spec s;
  int r = parse("\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":\"/proc/self/ns/net\"},"
                "{\"type\":\"mount\"},{\"type\":\"ipc\"},{\"type\":\"uts\",\"path\":\"\"},{\"type\":\"cgroup\"},"
                "{\"type\":\"time\"}]}",
                &s);
  CHECK(r == 0 && s.nns == 7, "seven namespaces parse");
  if (r) printf("#   %s\n", err.msg);
  CHECK(cell_spec_has_ns(&s, CLONE_NEWPID) && cell_spec_has_ns(&s, CLONE_NEWNS) && cell_spec_has_ns(&s, CLONE_NEWIPC) &&
            cell_spec_has_ns(&s, CLONE_NEWCGROUP) && cell_spec_has_ns(&s, CLONE_NEWTIME),
        "namespace types -> CLONE_NEW flags");
  CHECK(!cell_spec_has_ns(&s, CLONE_NEWUSER), "no user namespace listed");
  const struct cell_ns *n = cell_spec_ns(&s, CLONE_NEWNET);
  CHECK(n && n->path && !strcmp(n->path, "/proc/self/ns/net"), "namespace path kept");
  n = cell_spec_ns(&s, CLONE_NEWUTS);
  CHECK(n && !n->path, "an empty path means a new namespace");
  cell_spec_free(&s);

  fails("\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}",
        "linux.namespaces[1].type: namespace type \"pid\" listed twice", "duplicate namespace");
  fails("\"linux\":{\"namespaces\":[{\"type\":\"bogus\"}]}",
        "linux.namespaces[0].type: unknown namespace type \"bogus\"", "unknown namespace type");
  fails("\"linux\":{\"namespaces\":[{}]}", "linux.namespaces[0].type: required field is missing", "type missing");
  fails("\"linux\":{\"namespaces\":{}}", "linux.namespaces: must be an array", "namespaces an object");
  fails("\"linux\":{\"namespaces\":[\"pid\"]}", "linux.namespaces[0]: must be an object", "namespace a string");
  fails("\"linux\":{\"namespaces\":[{\"type\":\"ipc\",\"path\":\"/nonexistent/ns\"}]}",
        "linux.namespaces[0].path: namespace path /nonexistent/ns: No such file or directory", "missing ns path");
  fails("\"linux\":[]", "linux: must be an object", "linux an array");

  /* user namespace and mappings */
  r = parse("\"linux\":{\"namespaces\":[{\"type\":\"user\"}],"
            "\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536},{\"containerID\":65536,\"hostID\":1,\"size\":1}],"
            "\"gidMappings\":[{\"containerID\":0,\"hostID\":200000,\"size\":10}]}",
            &s);
  CHECK(r == 0 && s.nuidmap == 2 && s.ngidmap == 1, "uid/gid mappings parse");
  CHECK(r == 0 && s.uidmap[0].container == 0 && s.uidmap[0].host == 100000 && s.uidmap[0].size == 65536 &&
            s.uidmap[1].container == 65536 && s.gidmap[0].host == 200000 && s.gidmap[0].size == 10,
        "mapping values");
  cell_spec_free(&s);
  fails("\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}",
        "linux.uidMappings: mappings need a new user namespace in linux.namespaces", "mappings without userns");
  fails("\"linux\":{\"namespaces\":[{\"type\":\"user\"}]}",
        "linux.uidMappings: a new user namespace needs uidMappings and gidMappings", "userns without mappings");
  fails("\"linux\":{\"namespaces\":[{\"type\":\"user\"}],\"uidMappings\":[{\"containerID\":0,\"hostID\":-1,\"size\":1}],"
        "\"gidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}",
        "linux.uidMappings[0].hostID: must be an integer between 0 and 4294967295", "negative hostID");
  fails("\"linux\":{\"namespaces\":[{\"type\":\"user\"}],\"uidMappings\":{},"
        "\"gidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}",
        "linux.uidMappings: must be an array", "uidMappings an object");
  char big[16384];
  size_t o = (size_t)snprintf(big, sizeof big, "\"linux\":{\"namespaces\":[{\"type\":\"user\"}],\"uidMappings\":[");
  for (int i = 0; i < 341; i++)
    o += (size_t)snprintf(big + o, sizeof big - o, "%s{\"containerID\":%d,\"hostID\":%d,\"size\":1}", i ? "," : "", i, i);
  snprintf(big + o, sizeof big - o, "],\"gidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}");
  fails(big, "linux.uidMappings: too many mappings (341, the kernel allows 340)", "341 mappings refused");

  /* time offsets need a new time namespace */
  r = parse("\"linux\":{\"namespaces\":[{\"type\":\"time\"}],\"timeOffsets\":{\"boottime\":{\"secs\":-5,\"nanosecs\":7}}}", &s);
  CHECK(r == 0 && s.has_time_offsets && s.time_boottime[0] == -5 && s.time_boottime[1] == 7 && s.time_monotonic[0] == 0,
        "linux.timeOffsets");
  cell_spec_free(&s);
  fails("\"linux\":{\"timeOffsets\":{}}", "linux.timeOffsets: needs a new time namespace in linux.namespaces",
        "timeOffsets without time namespace");
  fails("\"linux\":{\"intelRdt\":{}}", "linux.intelRdt: Intel RDT is not supported by this host (no resctrl)",
        "intelRdt refused");
}

static void test_devices_paths(void) {
  struct cell_spec s;
  int r = parse("\"linux\":{\"devices\":["
                "{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229,\"fileMode\":438,\"gid\":5},"
                "{\"path\":\"/dev/sda\",\"type\":\"b\",\"major\":8,\"minor\":0,\"uid\":7},"
                "{\"path\":\"/dev/p\",\"type\":\"p\"}],"
                "\"maskedPaths\":[\"/proc/kcore\",\"/sys/firmware\"],\"readonlyPaths\":[\"/proc/sys\"]}",
                &s);
  CHECK(r == 0 && s.ndevices == 3, "three devices parse");
  if (r) printf("#   %s\n", err.msg);
  if (r) return;
  struct cell_device *d = &s.devices[0];
  CHECK(d->type == 'c' && d->major == 10 && d->minor == 229 && d->has_mode && d->mode == 0666, "char device fields");
  CHECK(!d->has_uid && d->uid == 0 && d->has_gid && d->gid == 5, "absent uid is 0 (gid given)");
  d = &s.devices[1];
  CHECK(d->type == 'b' && d->has_uid && d->uid == 7 && !d->has_gid && d->gid == 0 && !d->has_mode,
        "absent gid is 0, not the uid's value");
  CHECK(s.devices[2].type == 'p' && s.devices[2].major == 0, "a fifo needs no major/minor");
  CHECK(s.masked_paths && !strcmp(s.masked_paths[0], "/proc/kcore") && !strcmp(s.masked_paths[1], "/sys/firmware") &&
            !s.masked_paths[2],
        "linux.maskedPaths");
  CHECK(s.readonly_paths && !strcmp(s.readonly_paths[0], "/proc/sys") && !s.readonly_paths[1], "linux.readonlyPaths");
  cell_spec_free(&s);

  fails("\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"minor\":1}]}",
        "linux.devices[0].major: required for device type c", "device major missing");
  fails("\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"x\",\"major\":1,\"minor\":1}]}",
        "linux.devices[0].type: unknown device type \"x\" (c, b, u or p)", "device type x");
  fails("\"linux\":{\"devices\":[{\"path\":\"dev/x\",\"type\":\"c\",\"major\":1,\"minor\":1}]}",
        "linux.devices[0].path: \"dev/x\" must be an absolute path", "device path relative");
  fails("\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"major\":1,\"minor\":1,\"fileMode\":65535}]}",
        "linux.devices[0].fileMode: must be an integer between 0 and 4095", "device fileMode too big");
  fails("\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"major\":1,\"minor\":1,\"uid\":1.5}]}",
        "linux.devices[0].uid: must be an integer between 0 and 4294967295", "device uid fractional");
  fails("\"linux\":{\"maskedPaths\":[\"proc/kcore\"]}", "linux.maskedPaths[0]: \"proc/kcore\" must be absolute",
        "masked path relative");
  fails("\"linux\":{\"readonlyPaths\":[\"/a\",\"b\"]}", "linux.readonlyPaths[1]: \"b\" must be absolute",
        "readonly path relative");
  fails("\"linux\":{\"maskedPaths\":\"/proc\"}", "linux.maskedPaths: must be an array of strings", "maskedPaths a string");
}

static void test_sysctl(void) {
  struct cell_spec s;
  int r = parse("\"linux\":{\"namespaces\":[{\"type\":\"network\"},{\"type\":\"ipc\"},{\"type\":\"uts\"}],"
                "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\",\"kernel.shmmax\":\"4096\",\"fs.mqueue.msg_max\":\"20\","
                "\"kernel.domainname\":\"example\"}}",
                &s);
  CHECK(r == 0 && s.nsysctl == 4, "namespaced sysctls parse");
  if (r) printf("#   %s\n", err.msg);
  CHECK(r == 0 && !strcmp(s.sysctl[0].key, "net.ipv4.ip_forward") && !strcmp(s.sysctl[0].value, "1") &&
            !strcmp(s.sysctl[3].key, "kernel.domainname") && !strcmp(s.sysctl[3].value, "example"),
        "sysctl keys and values");
  cell_spec_free(&s);
  fails("\"linux\":{\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"}}",
        "linux.sysctl[\"net.ipv4.ip_forward\"]: not allowed in the host's network namespace (add a network namespace)",
        "net sysctl without netns");
  fails("\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"/proc/self/ns/net\"}],"
        "\"sysctl\":{\"net.core.somaxconn\":\"1\"}}",
        "linux.sysctl[\"net.core.somaxconn\"]: not allowed in the host's network namespace (add a network namespace)",
        "net sysctl with the runtime's own netns path");
  fails("\"linux\":{\"sysctl\":{\"kernel.msgmax\":\"1\"}}",
        "linux.sysctl[\"kernel.msgmax\"]: not allowed in the host's ipc namespace (add an ipc namespace)",
        "ipc sysctl without ipc namespace");
  fails("\"linux\":{\"namespaces\":[{\"type\":\"uts\"}],\"sysctl\":{\"kernel.hostname\":\"x\"}}",
        "linux.sysctl[\"kernel.hostname\"]: not allowed, it conflicts with the \"hostname\" field",
        "kernel.hostname refused");
  fails("\"linux\":{\"sysctl\":{\"kernel.domainname\":\"x\"}}",
        "linux.sysctl[\"kernel.domainname\"]: not allowed in the host's uts namespace (add a uts namespace)",
        "domainname without uts");
  fails("\"linux\":{\"namespaces\":[{\"type\":\"network\"}],\"sysctl\":{\"vm.swappiness\":\"1\"}}",
        "linux.sysctl[\"vm.swappiness\"]: not in a namespace the container can own (refused)", "vm sysctl refused");
  fails("\"linux\":{\"namespaces\":[{\"type\":\"network\"}],\"sysctl\":{\"net.a/../../b\":\"1\"}}",
        "linux.sysctl: invalid key \"net.a/../../b\"", "sysctl key with a path");
  fails("\"linux\":{\"namespaces\":[{\"type\":\"network\"}],\"sysctl\":{\"net.ipv4.ip_forward\":1}}",
        "linux.sysctl[\"net.ipv4.ip_forward\"]: value must be a string", "sysctl value a number");
  fails("\"linux\":{\"sysctl\":[]}", "linux.sysctl: must be an object", "sysctl an array");
}

static void test_misc(void) {
  struct cell_spec s;
  int r = parse("\"hostname\":\"box\",\"domainname\":\"example.org\",\"annotations\":{\"a\":\"1\",\"b.c\":\"2\"},"
                "\"hooks\":{\"prestart\":[{\"path\":\"/bin/true\",\"args\":[\"true\"],\"timeout\":3}]},"
                "\"linux\":{\"namespaces\":[{\"type\":\"uts\"}],\"rootfsPropagation\":\"rslave\","
                "\"cgroupsPath\":\"/cell-i-tests/x\",\"mountLabel\":\"lbl\",\"resources\":{\"pids\":{\"limit\":10}}}",
                &s);
  CHECK(r == 0, "hostname, annotations, hooks and linux fields parse");
  if (r) printf("#   %s\n", err.msg);
  CHECK_STR(s.hostname, "box", "hostname");
  CHECK_STR(s.domainname, "example.org", "domainname");
  CHECK(s.rootfs_propagation == (MS_SLAVE | MS_REC), "rootfsPropagation rslave -> MS_SLAVE|MS_REC");
  CHECK_STR(s.cgroups_path, "/cell-i-tests/x", "linux.cgroupsPath");
  CHECK_STR(s.mount_label, "lbl", "linux.mountLabel");
  const cJSON *a = s.annotations ? cJSON_GetObjectItem(s.annotations, "b.c") : NULL;
  CHECK(cJSON_IsString(a) && !strcmp(a->valuestring, "2") && cJSON_GetArraySize(s.annotations) == 2, "annotations kept");
  CHECK(s.hooks && cJSON_GetArraySize(cJSON_GetObjectItem(s.hooks, "prestart")) == 1, "hooks kept");
  struct cell_err e2 = {0};
  CHECK(cell_hooks_validate(s.hooks, &e2) == 0, "the kept hooks validate");
  const cJSON *pl = s.resources ? cJSON_GetObjectItem(cJSON_GetObjectItem(s.resources, "pids"), "limit") : NULL;
  CHECK(cJSON_IsNumber(pl) && pl->valueint == 10, "linux.resources kept");
  cell_spec_free(&s);

  fails("\"hostname\":\"box\"", "hostname: setting the hostname needs a new uts namespace", "hostname without uts");
  /* setdomainname in the runtime's uts namespace would change the host's domain name */
  fails("\"domainname\":\"escaped\"", "domainname: setting the domainname needs a new uts namespace",
        "domainname without uts");
  fails("\"domainname\":\"\"", "domainname: setting the domainname needs a new uts namespace",
        "empty domainname without uts");
  fails("\"domainname\":[],\"linux\":{\"namespaces\":[{\"type\":\"uts\"}]}", "domainname: must be a string",
        "domainname an array");
  fails("\"hostname\":5,\"linux\":{\"namespaces\":[{\"type\":\"uts\"}]}", "hostname: must be a string", "hostname number");
  fails("\"linux\":{\"rootfsPropagation\":\"bogus\"}", "linux.rootfsPropagation: unknown propagation \"bogus\"",
        "rootfsPropagation bogus");
  fails("\"linux\":{\"cgroupsPath\":5}", "linux.cgroupsPath: must be a string", "cgroupsPath number");
  fails("\"annotations\":[\"a\"]", "annotations: must be an object", "annotations an array");
  fails("\"hooks\":[]", "hooks: must be an object", "hooks an array");
  fails("\"linux\":{\"resources\":[]}", "linux.resources: must be an object", "resources an array");
  fails("\"linux\":{\"seccomp\":\"x\"}", "linux.seccomp: must be an object", "seccomp a string");

  r = parse("\"hooks\":{\"poststart\":[{\"path\":\"rel/hook\"}]}", &s);
  memset(&e2, 0, sizeof e2);
  CHECK(r == 0 && cell_hooks_validate(s.hooks, &e2) < 0 && strstr(e2.msg, "hooks.poststart[0].path"),
        "a relative hook path names hooks.poststart[0].path");
  cell_spec_free(&s);
}

/* text with every @NAME@ of the fixtures replaced */
static char *subst(const char *text, const char *engine_dir) {
  const char *keys[] = {"@ROOTFS@", "@ENGINE_DIR@", "@CGROUP_PARENT@", "@DOCKERD_PID@"};
  char pid[32];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  const char *vals[] = {rootfs, engine_dir, "/cell-i-tests", pid};
  size_t cap = strlen(text) * 4 + 1024, o = 0;
  char *out = malloc(cap);
  for (const char *p = text; *p;) {
    size_t k = 0;
    while (k < 4 && strncmp(p, keys[k], strlen(keys[k]))) k++;
    if (k < 4) {
      o += (size_t)snprintf(out + o, cap - o, "%s", vals[k]);
      p += strlen(keys[k]);
    } else {
      out[o++] = *p++;
    }
  }
  out[o] = 0;
  return out;
}

static void test_engine_configs(void) {
  glob_t g;
  int n = 0, nexec = 0;
  char cfg[PATH_MAX];
  snprintf(cfg, sizeof cfg, "%s/config.json", bundle);
  if (glob("tests/fixtures/engine-configs/*.json", 0, NULL, &g) != 0) g.gl_pathc = 0;
  for (size_t i = 0; i < g.gl_pathc; i++) {
    const char *f = g.gl_pathv[i];
    struct cell_err e2 = {0};
    char *raw = cell_read_file(f, NULL, &e2);
    char *text = raw ? subst(raw, bundle) : NULL;
    free(raw);
    char name[PATH_MAX + 64];
    if (strstr(f, "-process")) {
      /* exec --process: parsed as cell_container_exec does */
      nexec++;
      cJSON *proc = text ? cell_json_parse_doc(text, "--process", "process", &e2) : NULL;
      char **args = NULL;
      struct cell_caps c;
      struct cell_procattr pa;
      int ok = proc && cJSON_IsObject(proc) && cell_json_strv(cJSON_GetObjectItem(proc, "args"), "process.args", &args, &e2) == 0 &&
               args && args[0] && cell_caps_parse(cJSON_GetObjectItem(proc, "capabilities"), &c, &e2) == 0 &&
               cell_procattr_prepare(proc, NULL, &pa, &e2) == 0;
      snprintf(name, sizeof name, "process.json %s parses", f);
      CHECK(ok, name);
      if (!ok) printf("#   %s\n", e2.msg);
      snprintf(name, sizeof name, "process.json %s: args, uid 0, bounding caps", f);
      CHECK(ok && (!strcmp(args[0], "echo") || !strcmp(args[0], "sh")) && pa.uid == 0 &&
                (cell_caps_bounding(&c) & (1ULL << 0)) && !c.present[CELL_CAPS_AMBIENT],
            name);
      if (ok) cell_procattr_free(&pa);
      cell_strv_free(args);
      cJSON_Delete(proc);
      free(text);
      continue;
    }
    n++;
    struct cell_spec s;
    int r = text && write_file(cfg, text) == 0 ? cell_spec_load(bundle, &s, &e2) : -1;
    snprintf(name, sizeof name, "engine config %s loads", f);
    CHECK(r == 0, name);
    if (r) printf("#   %s\n", e2.msg);
    struct cell_procattr pa;
    struct cell_caps c;
    int ok = r == 0 && cell_procattr_prepare(s.process, s.linux_obj, &pa, &e2) == 0;
    ok = ok && cell_caps_parse(cJSON_GetObjectItem(s.process, "capabilities"), &c, &e2) == 0 &&
         cell_hooks_validate(s.hooks, &e2) == 0;
    snprintf(name, sizeof name, "engine config %s: process, capabilities and hooks validate", f);
    CHECK(ok, name);
    if (r == 0 && !ok) printf("#   %s\n", e2.msg);
    char real[PATH_MAX];
    snprintf(name, sizeof name, "engine config %s: fields", f);
    CHECK(r == 0 && s.nns == 5 && cell_spec_has_ns(&s, CLONE_NEWNS) && cell_spec_has_ns(&s, CLONE_NEWPID) &&
              s.nmounts >= 7 && s.masked_paths && s.masked_paths[9] && s.readonly_paths && s.readonly_paths[4] &&
              s.cgroups_path && !strncmp(s.cgroups_path, "/cell-i-tests/", 14) && realpath(rootfs, real) &&
              !strcmp(s.rootfs, real) && s.args && pa.uid == 0 && cell_caps_bounding(&c) != 0,
          name);
    /* per engine */
    if (r == 0 && strstr(f, "docker-")) {
      snprintf(name, sizeof name, "engine config %s: docker hostname, sysctls, prestart hook", f);
      CHECK(s.hostname && strlen(s.hostname) == 12 && s.nsysctl == 2 &&
                !strcmp(s.sysctl[0].key, "net.ipv4.ip_unprivileged_port_start") &&
                cJSON_GetArraySize(cJSON_GetObjectItem(s.hooks, "prestart")) == 1 &&
                s.terminal == (strstr(f, "-tty") != NULL),
            name);
    }
    if (r == 0 && strstr(f, "podman-config-example-limits")) {
      const cJSON *ann = cJSON_GetObjectItem(s.annotations, "io.container.manager");
      snprintf(name, sizeof name, "engine config %s: podman readonly root, annotations, rlimits", f);
      CHECK(s.root_readonly && cJSON_IsString(ann) && !strcmp(ann->valuestring, "libpod") && ok &&
                pa.n_rlimits == 2 && pa.rlimits[0].resource == RLIMIT_NOFILE && pa.rlimits[0].lim.rlim_max == 20000 &&
                !strcmp(s.args[0], "/run/podman-init"),
            name);
    }
    if (r == 0 && strstr(f, "containerd-")) {
      snprintf(name, sizeof name, "engine config %s: containerd relative root.path, no hostname", f);
      CHECK(!s.hostname && ok && pa.n_rlimits == 1 && pa.rlimits[0].lim.rlim_cur == 1024, name);
    }
    if (ok) cell_procattr_free(&pa);
    cell_spec_free(&s);
    free(text);
  }
  globfree(&g);
  unlink(cfg);
  CHECK(n >= 6 && nexec >= 4, "engine config and process fixtures present");
}

int main(void) {
  snprintf(bundle, sizeof bundle, "/tmp/cell-i-tests-spec.XXXXXX");
  if (!mkdtemp(bundle)) return 2;
  snprintf(rootfs, sizeof rootfs, "%s/rootfs", bundle);
  mkdir(rootfs, 0755);
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/file", rootfs);
  write_file(path, "x");

  test_minimal();
  test_version_root();
  test_process();
  test_mounts();
  test_namespaces();
  test_devices_paths();
  test_sysctl();
  test_misc();
  test_engine_configs();

  unlink(path);
  rmdir(rootfs);
  rmdir(bundle);
  UNIT_DONE();
}
