/* doctor.c - `cellctl doctor`: host settings that break cell's networks. */
#include <stdio.h>

#include <cjson/cJSON.h>

#include "cmd/cellctl/cellctl.h"
#include "netns/netns.h"

static void report(const char *severity, const char *text, void *data) {
  cJSON *arr = data;
  if (arr) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "severity", severity);
    cJSON_AddStringToObject(o, "message", text);
    cJSON_AddItemToArray(arr, o);
  } else {
    printf("%s: %s\n", severity, text);
  }
}

static int doctor(int argc, char **argv) {
  (void)argv;
  if (argc != 1) return cellctl_usage("doctor", "no arguments are taken");
  struct cell_err err = {0};
  cJSON *arr = cg.json ? cJSON_CreateArray() : NULL;
  int n = netns_doctor(report, arr, &err);
  if (arr) cellctl_print_json(arr);
  if (n < 0) return cellctl_fail(&err);
  if (!arr && n == 0) printf("ok: no problem found for cell's networks\n");
  return n ? 1 : 0;
}
CELLCTL_VERB(doctor, "doctor", "doctor",
             "check host settings that break networks (FORWARD drop policies, ip_forward, kernel modules)", doctor)
