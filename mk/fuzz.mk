# fuzz.mk - libFuzzer targets for the parsers (tests/fuzz/README.md).
#   make fuzz-build              build every target into build/fuzz/ (clang)
#   make fuzz [FUZZ_SECONDS=30]  build, make the seed corpora and run each
#                                target for FUZZ_SECONDS; fails on any crash,
#                                sanitizer report or leak
#   make fuzz FUZZ_TARGETS=spec  run a subset
# Crash inputs land in build/fuzz/crashes/NAME/; each fixed one belongs in
# tests/fuzz/seeds/NAME/ as a regression seed.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_DIR     := build/fuzz
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
                -Wno-format-truncation -Wno-unknown-warning-option -Wno-include-next-absolute-path \
                -fno-sanitize-recover=all \
                -I. $(FUSE_CFLAGS) $(SAN_CFLAGS)
FUZZ_LIB_SRCS := $(wildcard lib/*.c) $(wildcard runtime/*.c) $(wildcard cgroups/*.c) $(wildcard fsview/*.c)
FUZZ_OBJS    := $(FUZZ_LIB_SRCS:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)

.PHONY: fuzz fuzz-build fuzz-corpus

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/libfuzzcell.a: $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_DIR)/libfuzzcell.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Itests/fuzz -fsanitize=fuzzer -o $@ $< $(FUZZ_DIR)/libfuzzcell.a \
	  $(LDLIBS_CELL) $(FUSE_LIBS)

fuzz-build: $(FUZZ_BINS)

# Seed corpora, made from the fixtures each time (never committed).
fuzz-corpus:
	@for t in $(FUZZ_TARGETS); do tests/fuzz/mkcorpus.sh $$t $(FUZZ_DIR)/corpus/$$t || exit 1; done

# One target at a time (the machine may be shared); every target runs even
# after a failure, and the exit status says whether any failed.
fuzz: fuzz-build fuzz-corpus
	@fail=0; for t in $(FUZZ_TARGETS); do \
	  tests/fuzz/run.sh $$t $(FUZZ_SECONDS) || fail=1; \
	done; exit $$fail

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
