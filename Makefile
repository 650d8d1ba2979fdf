# cell - OCI runtime, cellfs FUSE views, VPS environments.
# `make` builds build/cell; `make check` installs deps, builds and runs every suite.

CC      ?= gcc
CFLAGS  ?= -O2 -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-format-truncation -MMD -MP -Ilib -Iruntime -Icgroups -Ifsview
LDLIBS_CELL = -lcjson -lseccomp -lcap
PREFIX  ?= /usr/local
BUILD   ?= build

LIB_SRCS := $(filter-out runtime/main.c,$(wildcard runtime/*.c)) $(wildcard cgroups/*.c) $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps check quick unit bats asan demo bench install clean test-vm engines

all: $(BUILD)/cell

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libcell.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# --version names the commit it was built from.
CELL_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
$(BUILD)/obj/runtime/main.o: CFLAGS += -DCELL_COMMIT='"$(CELL_COMMIT)"'

$(BUILD)/cell: $(BUILD)/obj/runtime/main.o $(BUILD)/libcell.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_CELL)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libcell.a tests/unit/unit.h tests/unit/unit_child.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libcell.a $(LDLIBS_CELL)

# Debian packages every suite needs; installs only what is missing.
DEB_PKGS = gcc make pkg-config libcjson-dev libseccomp-dev libcap-dev libfuse3-dev fuse3 \
           bats busybox-static jq uidmap iproute2 util-linux procps crun runc gnuplot-nox python3
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# Small helper programs the bats suites use.
$(BUILD)/tools/%: tests/tools/%.c tests/tools/listen_unix.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -lseccomp

TOOLS = $(BUILD)/tools/seccomp_listener $(BUILD)/tools/recvtty
all: $(TOOLS)

unit: $(UNIT_BINS)

# The inner loop: unit tests plus the core bats suite, no package installs.
quick: all unit
	tests/run-suites.sh quick

check: deps
	$(MAKE) all unit
	$(MAKE) BUILD=build/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" all unit
	tests/run-suites.sh full

asan:
	$(MAKE) BUILD=build/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" all

demo: deps all
	tests/demo.sh

bench: deps all
	tests/bench/run.sh

install: all
	install -D -m 0755 $(BUILD)/cell $(DESTDIR)$(PREFIX)/bin/cell
	install -D -m 0755 $(BUILD)/cellfs $(DESTDIR)$(PREFIX)/bin/cellfs

clean:
	rm -rf build

# Each concern may add its own targets in mk/NAME.mk.
-include $(wildcard mk/*.mk)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
