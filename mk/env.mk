# env/: VPS-style environments (config files, locks, start/stop, limits) over
# the in-process runtime; linked into cellctl.
#   make unit -> also $(BUILD)/tests/test_env_*
ENV_SRCS  := $(filter-out env/spec.c env/idrange.c,$(wildcard env/*.c)) # those two: mk/env2.mk
ENV_OBJS  := $(ENV_SRCS:%.c=$(BUILD)/obj/%.o)
ENV_TESTS := $(patsubst tests/env/test_%.c,$(BUILD)/tests/test_env_%,$(wildcard tests/env/test_config*.c))

$(BUILD)/libenv.a: $(ENV_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

CELLCTL_LIBS += $(BUILD)/libenv.a

# (linked like cellctl: env/ reaches images/ and netns/; CELLCTL_LIBS is complete when the recipe runs)
$(ENV_TESTS): $(BUILD)/tests/test_env_%: tests/env/test_%.c $(BUILD)/libenv.a $(BUILD)/libcell.a $(BUILD)/libcellbase.a \
              tests/unit/unit.h | $(BUILD)/cellctl
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< -Wl,--start-group $(CELLCTL_LIBS) $(BUILD)/libcell.a $(BUILD)/libcellbase.a \
	  -Wl,--end-group $(CELLCTL_LDLIBS) $(LDLIBS_CELL)

unit: $(ENV_TESTS)

# cellctl.service: `cellctl boot` at boot, `cellctl shutdown` at shutdown.
SYSTEMD_UNITDIR ?= $(PREFIX)/lib/systemd/system
.PHONY: install-env
install: install-env
install-env: env/cellctl.service.in
	@mkdir -p $(DESTDIR)$(SYSTEMD_UNITDIR)
	sed 's|@BINDIR@|$(PREFIX)/bin|g' env/cellctl.service.in >$(DESTDIR)$(SYSTEMD_UNITDIR)/cellctl.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNITDIR)/cellctl.service

# the tests: busybox environments, jq, curl (port forwards), util-linux (script, nsenter)
DEB_PKGS += busybox-static jq curl util-linux bats
