# env/: VPS-style environments (config files, locks, start/stop, limits) over
# the in-process runtime; linked into cellctl.
#   make unit -> also $(BUILD)/tests/test_env_*
ENV_SRCS  := $(wildcard env/*.c)
ENV_OBJS  := $(ENV_SRCS:%.c=$(BUILD)/obj/%.o)
ENV_TESTS := $(patsubst tests/env/test_%.c,$(BUILD)/tests/test_env_%,$(wildcard tests/env/test_*.c))

$(BUILD)/libenv.a: $(ENV_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

CELLCTL_LIBS += $(BUILD)/libenv.a

$(BUILD)/tests/test_env_%: tests/env/test_%.c $(BUILD)/libenv.a $(BUILD)/libcell.a $(BUILD)/libcellbase.a tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libenv.a $(BUILD)/libcell.a $(BUILD)/libcellbase.a $(LDLIBS_CELL)

unit: $(ENV_TESTS)
