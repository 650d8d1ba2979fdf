# netns/: environment networking (bridges, routed endpoints, nft, limits, dns)
# over libmnl and libnftables, and its unit tests tests/netns/test_*.c.
#   make unit         -> also $(BUILD)/tests/test_netns_*
#   make netns-bench  -> tests/bench/netns.sh (smoke counts)

.PHONY: netns-bench

NETNS_CFLAGS := $(call pkg_cflags,libmnl libnftables)
NETNS_LIBS   := $(call pkg_libs,libmnl,-lmnl) $(call pkg_libs,libnftables,-lnftables) -lpthread
# netns/nft.c, tc.c, dns.c are mk/nft.mk's (libnetfw.a)
NETNS_SRCS   := $(filter-out netns/nft.c netns/tc.c netns/dns.c,$(wildcard netns/*.c))
NETNS_OBJS   := $(NETNS_SRCS:%.c=$(BUILD)/obj/%.o)
NETNS_TESTS  := $(patsubst tests/netns/test_%.c,$(BUILD)/tests/test_netns_%,$(wildcard tests/netns/test_*.c))

$(BUILD)/obj/netns/%.o: netns/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(NETNS_CFLAGS) -c -o $@ $<

$(BUILD)/libnetns.a: $(NETNS_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

CELLCTL_LIBS += $(BUILD)/libnetns.a
CELLCTL_LDLIBS += $(NETNS_LIBS)

# (test_hook runs a container through the runtime's netns hook: libcell too)
$(BUILD)/tests/test_netns_%: tests/netns/test_%.c $(BUILD)/libnetns.a $(BUILD)/libnetfw.a $(BUILD)/libcell.a \
                             $(BUILD)/libcellbase.a tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(NETNS_CFLAGS) -Itests/unit -o $@ $< -Wl,--start-group $(BUILD)/libnetns.a $(BUILD)/libnetfw.a \
	  $(BUILD)/libcell.a $(BUILD)/libcellbase.a -Wl,--end-group $(NETNS_LIBS) $(LDLIBS_CELL)

unit: $(NETNS_TESTS)

netns-bench: all
	tests/bench/netns.sh

DEB_PKGS += libmnl-dev libnftables-dev nftables iproute2 iperf3 busybox-static dnsmasq-base jq

# the in-process attach/detach timer of tests/bench/netns.sh
$(BUILD)/bench/netnsbench: tests/bench/netnsbench.c $(BUILD)/libnetns.a $(BUILD)/libnetfw.a $(BUILD)/libcellbase.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libnetns.a $(BUILD)/libnetfw.a $(BUILD)/libcellbase.a $(NETNS_LIBS) $(LDLIBS_CELL)
all: $(BUILD)/bench/netnsbench
