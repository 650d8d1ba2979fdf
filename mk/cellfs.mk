# cellfs: the FUSE daemon serving per-cgroup /proc views (fsview/).
#   make cellfs        -> $(BUILD)/cellfs
#   make unit          -> also $(BUILD)/tests/test_fsview_*
#   make cellfs-deps   -> installs lxcfs, libfuse3-dev, fuse3, valgrind, busybox-static
#                         (sendfile readers), strace if missing
#   make cellfs-bench  -> tests/bench/cellfs.sh

.PHONY: cellfs cellfs-deps cellfs-bench

# Repeat the project flags: `make CFLAGS=...` (the asan build) replaces the
# top Makefile's `CFLAGS +=` line, and cellfs must stay -Werror clean there too.
FSV_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-format-truncation -I. \
              $(FUSE_CFLAGS)
FSV_LIBS   := $(FUSE_LIBS)
FSV_SRCS   := $(wildcard fsview/*.c)
FSV_OBJS   := $(FSV_SRCS:%.c=$(BUILD)/obj/%.o)
FSV_TESTS  := $(patsubst tests/fsview/test_%.c,$(BUILD)/tests/test_fsview_%,$(wildcard tests/fsview/test_*.c))

$(BUILD)/obj/fsview/%.o: fsview/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(FSV_CFLAGS) -c -o $@ $<

$(BUILD)/libfsview.a: $(FSV_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/obj/cmd/cellfs/%.o: cmd/cellfs/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(FSV_CFLAGS) -c -o $@ $<

$(BUILD)/cellfs: $(BUILD)/obj/cmd/cellfs/main.o $(BUILD)/libfsview.a $(BUILD)/libcellbase.a
	$(CC) $(CFLAGS) -o $@ $^ $(FSV_LIBS)

cellfs: $(BUILD)/cellfs
all: $(BUILD)/cellfs

$(BUILD)/tests/test_fsview_%: tests/fsview/test_%.c $(BUILD)/libfsview.a $(BUILD)/libcellbase.a tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(FSV_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libfsview.a $(BUILD)/libcellbase.a $(FSV_LIBS)

unit: $(FSV_TESTS)

# benchmark helpers
$(BUILD)/bench/readbench: tests/bench/readbench.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(FSV_CFLAGS) -o $@ $< -lpthread

$(BUILD)/bench/fusefloor: tests/bench/fusefloor.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(FSV_CFLAGS) -o $@ $< $(FSV_LIBS)

cellfs-bench: cellfs-deps $(BUILD)/cellfs $(BUILD)/bench/readbench $(BUILD)/bench/fusefloor
	tests/bench/cellfs.sh

CELLFS_PKGS = lxcfs libfuse3-dev fuse3 valgrind bats procps busybox-static strace
cellfs-deps:
	@missing=$$(for p in $(CELLFS_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
bench: cellfs-deps
