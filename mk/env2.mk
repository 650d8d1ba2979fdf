# env2.mk - the environment's OCI spec builder and id-range allocator
# (env/spec.c, env/idrange.c), helper h-env2's part of issue 11.
#
# NOTE for mk/env.mk: env/spec.c and env/idrange.c are built ONLY here, into
# $(BUILD)/libenvspec.a (already on CELLCTL_LIBS); exclude them from any
# $(wildcard env/*.c) there (ENVSPEC_SRCS names them) so no object is twice.
#
#   make unit            -> also $(BUILD)/tests/test_env_spec, test_env_idrange
#   make envspec-deps    -> installs what the envspec suite and the env benchmark use
#   make env-bench       -> tests/bench/env.sh (boot/stop vs systemd-nspawn and lxc, density)
ENVSPEC_SRCS := env/spec.c env/idrange.c
ENVSPEC_OBJS := $(ENVSPEC_SRCS:%.c=$(BUILD)/obj/%.o)
ENVSPEC_TESTS := $(patsubst tests/env/test_%.c,$(BUILD)/tests/test_env_%,$(wildcard tests/env/test_spec*.c tests/env/test_idrange*.c))

$(BUILD)/libenvspec.a: $(ENVSPEC_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

CELLCTL_LIBS += $(BUILD)/libenvspec.a
CELLCTL_LDLIBS += -lm

$(BUILD)/tests/test_env_%: tests/env/test_%.c $(BUILD)/libenvspec.a $(BUILD)/libcell.a $(BUILD)/libcellbase.a tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libenvspec.a $(BUILD)/libcell.a $(BUILD)/libcellbase.a $(LDLIBS_CELL) -lm

unit: $(ENVSPEC_TESTS)

# envspec suite helper: writes an environment's config.json (tests/envspec/)
$(BUILD)/tools/envspec: tests/envspec/envspec.c $(BUILD)/libenvspec.a $(BUILD)/libcellbase.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libenvspec.a $(BUILD)/libcellbase.a $(LDLIBS_CELL) -lm
all: $(BUILD)/tools/envspec

ENVSPEC_DEB_PKGS = mmdebstrap systemd-container lxc busybox-static bats jq util-linux
DEB_PKGS += $(ENVSPEC_DEB_PKGS)

.PHONY: envspec-deps env-bench
envspec-deps:
	@missing=$$(for p in $(ENVSPEC_DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "envspec-deps: installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

env-bench: envspec-deps all
	tests/bench/env.sh
