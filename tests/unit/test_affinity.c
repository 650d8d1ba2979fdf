/* test_affinity.c - the CPU list parser and the choice of CPUs for a CPU
 * quota (runtime/affinity.h): counts, wrapping, a spread by id, and the
 * annotation's values. */
#include <cjson/cJSON.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"
#include "runtime/affinity.h"

int main(void) {
  cpu_set_t s, out;
  CHECK(cell_affinity_parse_list("0-3,8,10-11\n", &s) == 0, "list parses");
  CHECK(CPU_COUNT(&s) == 7 && CPU_ISSET(8, &s) && CPU_ISSET(11, &s) && !CPU_ISSET(9, &s), "list members");
  CHECK(cell_affinity_parse_list("", &s) == 0 && CPU_COUNT(&s) == 0, "empty list");
  CHECK(cell_affinity_parse_list("3-1", &s) < 0, "reversed range refused");
  CHECK(cell_affinity_parse_list("1,x", &s) < 0, "junk refused");

  cell_affinity_parse_list("2,5,7", &s);
  cell_affinity_pick(&s, 2, "a", &out);
  CHECK(CPU_COUNT(&out) == 2, "two of three");
  cpu_set_t both;
  CPU_AND(&both, &out, &s);
  CHECK(CPU_EQUAL(&both, &out), "picked only allowed CPUs");
  cell_affinity_pick(&s, 9, "a", &out);
  CHECK(CPU_EQUAL(&out, &s), "more than allowed: all of them");

  /* single CPUs of a 4-CPU set: different ids land on different CPUs */
  cell_affinity_parse_list("0-3", &s);
  cpu_set_t seen;
  CPU_ZERO(&seen);
  char id[32];
  for (int i = 0; i < 64; i++) {
    snprintf(id, sizeof id, "ctr-%d", i);
    cell_affinity_pick(&s, 1, id, &out);
    CHECK(CPU_COUNT(&out) == 1, "one CPU");
    CPU_OR(&seen, &seen, &out);
  }
  CHECK(CPU_COUNT(&seen) == 4, "64 ids spread over all 4 CPUs");
  cpu_set_t again;
  cell_affinity_pick(&s, 1, "ctr-7", &out);
  cell_affinity_pick(&s, 1, "ctr-7", &again);
  CHECK(CPU_EQUAL(&out, &again), "same id, same CPU");

  struct cell_err err = {0};
  cJSON *a = cJSON_Parse("{\"run.cell.cpu-affinity\":\"none\"}");
  CHECK(cell_affinity_check_annotation(a, &err) == 0, "none accepted");
  cJSON_Delete(a);
  a = cJSON_Parse("{\"run.cell.cpu-affinity\":\"off\"}");
  CHECK(cell_affinity_check_annotation(a, &err) < 0 && strstr(err.msg, "run.cell.cpu-affinity"), "bad value names the key");
  cJSON_Delete(a);
  CHECK(cell_affinity_check_annotation(NULL, &err) == 0, "no annotations");
  UNIT_DONE();
}
