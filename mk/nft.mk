# netns firewall part (h-nft): nftables table, traffic limits, dnsmasq.
#   $(BUILD)/libnetfw.a  <- netns/nft.c netns/tc.c netns/dns.c (linked into cellctl)
#   make unit            -> also $(BUILD)/tests/test_netfw_* from tests/nft/test_*.c (kept out of
#                           tests/netns/ so that mk/netns.mk's wildcard does not link them without libnftables)
#   $(BUILD)/tools/netfw -> a small driver of the library for tests/nft/*.bats
# The rest of netns/ (links, addresses, routes, the network store) is
# mk/netns.mk's: it must leave these three files out of its own archive
# (NETFW_SRCS below), or at least not mind that they are in both.

NETFW_SRCS := netns/nft.c netns/tc.c netns/dns.c
NETFW_OBJS := $(NETFW_SRCS:%.c=$(BUILD)/obj/%.o)
NETFW_LIBS := $(call pkg_libs,libnftables,-lnftables) $(call pkg_libs,libmnl,-lmnl)
NETFW_TESTS := $(patsubst tests/nft/test_%.c,$(BUILD)/tests/test_netfw_%,$(wildcard tests/nft/test_*.c))

$(BUILD)/libnetfw.a: $(NETFW_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

CELLCTL_LIBS += $(BUILD)/libnetfw.a
CELLCTL_LDLIBS += $(NETFW_LIBS)

$(NETFW_TESTS): $(BUILD)/tests/test_netfw_%: tests/nft/test_%.c $(BUILD)/libnetfw.a $(BUILD)/libcellbase.a tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libnetfw.a $(BUILD)/libcellbase.a $(NETFW_LIBS)

unit: $(NETFW_TESTS)

$(BUILD)/tools/netfw: tests/nft/netfw.c $(BUILD)/libnetfw.a $(BUILD)/libcellbase.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libnetfw.a $(BUILD)/libcellbase.a $(NETFW_LIBS) $(LDLIBS_CELL)

DEB_PKGS += libnftables-dev nftables libmnl-dev dnsmasq-base iperf3 busybox-static
