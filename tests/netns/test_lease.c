/* test_lease - the lease file: render/parse round trip, atomic save/load,
 * bad files refused, and names checked. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/file.h"
#include "netns/store.h"
#include "unit.h"

int main(void) {
  struct cell_err err = {0};
  struct lease l[2] = {0};
  snprintf(l[0].ep.name, sizeof l[0].ep.name, "web");
  snprintf(l[0].ep.network, sizeof l[0].ep.network, "hnet");
  snprintf(l[0].ep.host_ifname, sizeof l[0].ep.host_ifname, "ve-0123456789");
  snprintf(l[0].ep.ifname, sizeof l[0].ep.ifname, "eth0");
  snprintf(l[0].ep.ip4, sizeof l[0].ep.ip4, "10.0.0.2");
  l[0].ep.prefix4 = 24;
  snprintf(l[0].ep.ip6, sizeof l[0].ep.ip6, "fd00::2");
  l[0].ep.prefix6 = 64;
  l[0].ep.rate_in = 10000000;
  l[0].ep.netns_ino = 4026532000ull;
  l[0].ep.netns_dev = 4;
  l[0].state = LEASE_ATTACHED;
  l[0].pid = 1234;
  l[1] = l[0];
  snprintf(l[1].ep.name, sizeof l[1].ep.name, "db");
  snprintf(l[1].ep.ip4, sizeof l[1].ep.ip4, "10.0.0.3");
  l[1].state = LEASE_ATTACHING;

  char *text = lease_render(l, 2);
  struct lease *back = NULL;
  size_t n = 0;
  CHECK(text && lease_parse(text, &back, &n, "t", &err) == 0 && n == 2, "render then parse gives 2 leases");
  CHECK(n == 2 && !strcmp(back[0].ep.name, "web") && !strcmp(back[1].ep.ip4, "10.0.0.3") &&
            back[0].ep.prefix4 == 24 && back[0].ep.rate_in == 10000000 && back[0].ep.netns_ino == 4026532000ull &&
            back[0].state == LEASE_ATTACHED && back[1].state == LEASE_ATTACHING && back[0].pid == 1234,
        "every field survives");
  free(back);
  free(text);

  char dir[] = "/tmp/hnet-lease.XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "tmpdir");
  int d = open(dir, O_DIRECTORY | O_RDONLY);
  CHECK(lease_load_at(d, "leases.json", &back, &n, &err) == 0 && n == 0, "a missing lease file is empty");
  free(back);
  CHECK(lease_save_at(d, "leases.json", l, 2, &err) == 0, "save");
  CHECK(faccessat(d, "leases.json.tmp", F_OK, 0) < 0, "no temporary file left");
  CHECK(lease_load_at(d, "leases.json", &back, &n, &err) == 0 && n == 2 && !strcmp(back[1].ep.name, "db"),
        "load what was saved");
  free(back);
  CHECK(lease_save_at(d, "leases.json", l, 1, &err) == 0 && lease_load_at(d, "leases.json", &back, &n, &err) == 0 &&
            n == 1,
        "a shorter save replaces");
  free(back);
  int fd = openat(d, "bad.json", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  CHECK(fd >= 0 && write(fd, "{\"x\":1}", 7) == 7, "write a bad file");
  close(fd);
  CHECK(lease_load_at(d, "bad.json", &back, &n, &err) < 0 && strstr(err.msg, "bad.json"),
        "a file without endpoints is refused, naming it");
  CHECK(lease_parse("{\"endpoints\":[{\"name\":\"x\"}]}", &back, &n, "t", &err) < 0 && strstr(err.msg, "host_ifname"),
        "an endpoint without host_ifname is refused");
  CHECK(lease_parse("not json", &back, &n, "t", &err) < 0, "garbage is refused");
  close(d);
  cell_rm_rf_at(AT_FDCWD, dir);

  CHECK(netns_name_check("network", "hnet-1_a.b", &err) == 0, "a good name");
  CHECK(netns_name_check("network", "", &err) < 0, "empty name refused");
  CHECK(netns_name_check("network", "../x", &err) < 0, "a path is refused");
  CHECK(netns_name_check("network", "-x", &err) < 0 && strstr(err.msg, "network"), "a leading dash is refused");
  CHECK(netns_name_check("network", "abcdefghijabcdefghijabcdefghijabc", &err) < 0, "33 characters are refused");
  UNIT_DONE();
}
