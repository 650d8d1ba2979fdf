/* update.c - `cell update`: resource flags to an OCI linux.resources object. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/container.h"
#include "runtime/spec.h"
#include "runtime/update.h"

/* Each numeric or list flag and where it lands in linux.resources. */
static const struct {
  const char *flag, *group, *key;
  bool str;
} update_fields[] = {
    {"memory", "memory", "limit", false},
    {"memory-reservation", "memory", "reservation", false},
    {"memory-swap", "memory", "swap", false},
    {"kernel-memory", "memory", "kernel", false},
    {"kernel-memory-tcp", "memory", "kernelTCP", false},
    {"cpu-shares", "cpu", "shares", false},
    {"cpu-quota", "cpu", "quota", false},
    {"cpu-period", "cpu", "period", false},
    {"cpu-rt-period", "cpu", "realtimePeriod", false},
    {"cpu-rt-runtime", "cpu", "realtimeRuntime", false},
    {"cpuset-cpus", "cpu", "cpus", true},
    {"cpuset-mems", "cpu", "mems", true},
    {"pids-limit", "pids", "limit", false},
    {"blkio-weight", "blockIO", "weight", false},
};

int cell_update_flags_add(struct cell_update_flags *f, const char *name, const char *value, struct cell_err *err) {
  if (f->n >= CELL_UPDATE_MAX_FLAGS)
    return cell_error(err, 0, "--%s: too many flags (at most %d)", name, CELL_UPDATE_MAX_FLAGS);
  f->v[f->n].name = name;
  f->v[f->n].value = value;
  f->n++;
  return 0;
}

/* A size or count: digits with an optional k/m/g (and b) suffix, as
 * docker/runc accept (64m, 1g, 512kb). */
static int parse_size(const char *s, long long *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s) return -1;
  long long mul = 1;
  if (*end) {
    switch (*end | 0x20) {
      case 'k': mul = 1024; break;
      case 'm': mul = 1024 * 1024; break;
      case 'g': mul = 1024LL * 1024 * 1024; break;
      case 'b': break;
      default: return -1;
    }
    if (end[1] && (end[1] | 0x20) != 'b') return -1;
  }
  *out = v * mul;
  return 0;
}

static int add_flag(cJSON *res, const char *flag, const char *value, struct cell_err *err) {
  if (!strcmp(flag, "l3-cache-schema") || !strcmp(flag, "mem-bw-schema"))
    return cell_error(err, 0, "update: Intel RDT is not supported on this host");
  size_t i = 0, n = sizeof update_fields / sizeof *update_fields;
  while (i < n && strcmp(update_fields[i].flag, flag)) i++;
  if (i == n) {
    cell_error(err, 0, "--%s: unknown update flag", flag);
    return CELL_UPDATE_BAD_VALUE;
  }
  cJSON *gobj = cJSON_GetObjectItem(res, update_fields[i].group);
  if (!gobj) gobj = cJSON_AddObjectToObject(res, update_fields[i].group);
  if (!gobj) return cell_error(err, ENOMEM, "update: --%s", flag);
  if (update_fields[i].str) {
    if (!cJSON_AddStringToObject(gobj, update_fields[i].key, value)) return cell_error(err, ENOMEM, "update: --%s", flag);
    return 0;
  }
  long long v = 0;
  if (!strcmp(value, "-1")) v = -1;
  else if (parse_size(value, &v) < 0) {
    cell_error(err, 0, "--%s: invalid value \"%s\"", flag, value);
    return CELL_UPDATE_BAD_VALUE;
  }
  if (!cJSON_AddNumberToObject(gobj, update_fields[i].key, (double)v)) return cell_error(err, ENOMEM, "update: --%s", flag);
  return 0;
}

int cell_update_resources_from_flags(const struct cell_update_flags *f, cJSON **out, struct cell_err *err) {
  *out = NULL;
  cJSON *res = cJSON_CreateObject();
  if (!res) return cell_error(err, ENOMEM, "update: resources");
  for (size_t i = 0; i < f->n; i++) {
    int r = add_flag(res, f->v[i].name, f->v[i].value, err);
    if (r < 0) {
      cJSON_Delete(res);
      return r;
    }
  }
  *out = res;
  return 0;
}

char *cell_update_resources_text(const struct cell_update_flags *f, struct cell_err *err) {
  if (f->resources) {
    char *text = cell_read_file(!strcmp(f->resources, "-") ? "/dev/stdin" : f->resources, NULL, err);
    if (!text) cell_error_wrap(err, "--resources");
    return text;
  }
  cJSON *res;
  if (cell_update_resources_from_flags(f, &res, err) < 0) return NULL;
  char *text = cJSON_PrintUnformatted(res);
  cJSON_Delete(res);
  if (!text) cell_error(err, ENOMEM, "update: resources");
  return text;
}

int cell_update_apply(const char *root, const char *id, const struct cell_update_flags *f, struct cell_err *err) {
  char *text = cell_update_resources_text(f, err);
  if (!text) return -1;
  int r = cell_container_update(root, id, text, err);
  free(text);
  return r;
}
