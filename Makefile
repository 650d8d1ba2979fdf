# cell - OCI runtime, cellfs FUSE views, VPS environments.
# `make` builds build/cell; `make check` installs deps, builds and runs every suite.

CC      ?= gcc
CFLAGS  ?= -O2 -g
# Library flags from pkg-config, with the plain names when a .pc is missing.
pkg_cflags = $(shell pkg-config --cflags $(1) 2>/dev/null)
pkg_libs   = $(or $(shell pkg-config --libs $(1) 2>/dev/null),$(2))
LIB_CFLAGS := $(call pkg_cflags,libcjson libseccomp libcap)
LDLIBS_CELL := $(call pkg_libs,libcjson,-lcjson) $(call pkg_libs,libseccomp,-lseccomp) $(call pkg_libs,libcap,-lcap)
FUSE_CFLAGS := $(or $(call pkg_cflags,fuse3),-I/usr/include/fuse3)
FUSE_LIBS   := $(call pkg_libs,fuse3,-lfuse3 -lpthread)
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-format-truncation -MMD -MP -I. \
                   $(LIB_CFLAGS)
# The sanitizer build (make asan, make check, the cellfs suite, the fuzzers).
SAN_CFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer
PREFIX  ?= /usr/local
BUILD   ?= build

# lib/: the shared base (errors, logger, strbuf, files, mountinfo, paths), linked
# by cell, cellfs, the unit tests and the fuzzers; it includes nothing else.
BASE_SRCS := $(wildcard lib/*.c)
BASE_OBJS := $(BASE_SRCS:%.c=$(BUILD)/obj/%.o)
LIB_SRCS := $(wildcard runtime/*.c) $(wildcard cgroups/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
# The programs' thin mains (cmd/PROGRAM/: dispatch, one file per verb) over the libraries.
CELL_CMD_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard cmd/cell/*.c))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps check quick unit bats asan demo bench install man clean test-vm engines FORCE

all: $(BUILD)/cell

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libcellbase.a: $(BASE_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libcell.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# --version shows VERSION and the commit built from.  $(BUILD)/version.h is
# rewritten only when its text changes, so a new HEAD rebuilds just the
# objects that force-include it (the two main.o, and cell's features.o).
CELL_COMMIT = $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
$(BUILD)/version.h: FORCE
	@mkdir -p $(dir $@)
	@printf '#define CELL_VERSION "%s"\n#define CELL_COMMIT "%s"\n' "$$(cat VERSION)" "$(CELL_COMMIT)" >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
VERSIONED_OBJS := $(BUILD)/obj/cmd/cell/main.o $(BUILD)/obj/cmd/cell/features.o $(BUILD)/obj/cmd/cellfs/main.o \
                  $(BUILD)/obj/cmd/cellctl/main.o $(BUILD)/obj/runtime/seccomp_cache.o
$(VERSIONED_OBJS): $(BUILD)/version.h
$(VERSIONED_OBJS): CFLAGS += -include $(BUILD)/version.h
FORCE:

# cell copies itself into a sealed memfd on every create, run and exec
# (runtime/selfexe.c): its debug info goes to cell.debug (gdb finds it by
# the debuglink), which makes the copy 0.28 MB instead of 1 MB (130 us
# instead of 590 us).  The sanitizer build keeps it inline for its reports.
# libseccomp is linked in statically (Debian's libseccomp-dev ships the .a):
# the dynamic loader then maps one library fewer on each of the 4 execs of a
# run cycle (0.97 -> 0.82 ms of CPU per `cell --version` here).
STRIP_DEBUG ?= 1
CELL_BIN_LIBS := $(call pkg_libs,libcjson,-lcjson) -Wl,-Bstatic -lseccomp -Wl,-Bdynamic $(call pkg_libs,libcap,-lcap)
$(BUILD)/cell: $(CELL_CMD_OBJS) $(BUILD)/libcell.a $(BUILD)/libcellbase.a
	$(CC) $(CFLAGS) -o $@ $^ $(CELL_BIN_LIBS)
	@if [ "$(STRIP_DEBUG)" = 1 ]; then \
	  objcopy --only-keep-debug $@ $@.debug && objcopy --strip-debug --add-gnu-debuglink=$@.debug $@; fi

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libcell.a $(BUILD)/libcellbase.a tests/unit/unit.h tests/unit/unit_child.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libcell.a $(BUILD)/libcellbase.a $(LDLIBS_CELL)

# Debian packages every suite needs; installs only what is missing.
DEB_PKGS = gcc make pkg-config libcjson-dev libseccomp-dev libcap-dev libfuse3-dev fuse3 \
           bats busybox-static jq uidmap iproute2 util-linux procps crun runc gnuplot-nox python3 \
           clang help2man
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
	$(MAKE) BUILD=build/asan CFLAGS="-O1 -g $(SAN_CFLAGS)" STRIP_DEBUG=0 all unit
	tests/run-suites.sh full

asan:
	$(MAKE) BUILD=build/asan CFLAGS="-O1 -g $(SAN_CFLAGS)" STRIP_DEBUG=0 all unit

demo: deps all
	tests/demo.sh

bench: deps all
	tests/bench/run.sh

# Man pages cell(8) and cellfs(8), generated from the built programs' --help
# and --version by help2man (through man/help-filter.sh, run under the
# program's name), so they follow the options; man/NAME.h2m adds the prose.
MANDIR ?= $(PREFIX)/share/man
MAN_PAGES = $(BUILD)/man/cell.8 $(BUILD)/man/cellfs.8
$(BUILD)/man/%.8: $(BUILD)/% man/%.h2m man/help-filter.sh
	@command -v help2man >/dev/null || { echo "make man: help2man is needed (make deps, or apt-get install help2man)" >&2; exit 1; }
	@mkdir -p $(BUILD)/man/bin
	printf '#!/bin/sh\nexec %s %s "$$@"\n' $(abspath man/help-filter.sh) $(abspath $<) >$(BUILD)/man/bin/$*
	chmod +x $(BUILD)/man/bin/$*
	help2man --no-info --section 8 --manual "System Administration" --include man/$*.h2m \
	  --output $@ $(BUILD)/man/bin/$*
man: $(MAN_PAGES)

install: all man
	install -D -m 0755 $(BUILD)/cell $(DESTDIR)$(PREFIX)/bin/cell
	install -D -m 0755 $(BUILD)/cellfs $(DESTDIR)$(PREFIX)/bin/cellfs
	install -D -m 0755 $(BUILD)/cellctl $(DESTDIR)$(PREFIX)/bin/cellctl
	install -D -m 0644 $(BUILD)/man/cell.8 $(DESTDIR)$(MANDIR)/man8/cell.8
	install -D -m 0644 $(BUILD)/man/cellfs.8 $(DESTDIR)$(MANDIR)/man8/cellfs.8

clean:
	rm -rf build

# Each concern may add its own targets in mk/NAME.mk.  A library that cellctl
# links adds itself with `CELLCTL_LIBS += $(BUILD)/libNAME.a` and its link
# flags with `CELLCTL_LDLIBS += ...` there.
CELLCTL_LIBS :=
CELLCTL_LDLIBS :=
-include $(wildcard mk/*.mk)

# cellctl: the thin main (cmd/cellctl/, one file per verb) over every library.
# Linked after the mk/ files so that their CELLCTL_LIBS are all in.
CELLCTL_CMD_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard cmd/cellctl/*.c))
$(BUILD)/cellctl: $(CELLCTL_CMD_OBJS) $(CELLCTL_LIBS) $(BUILD)/libcell.a $(BUILD)/libcellbase.a
	$(CC) $(CFLAGS) -o $@ $(CELLCTL_CMD_OBJS) -Wl,--start-group $(CELLCTL_LIBS) $(BUILD)/libcell.a \
	  $(BUILD)/libcellbase.a -Wl,--end-group $(CELLCTL_LDLIBS) $(LDLIBS_CELL)
all: $(BUILD)/cellctl

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
