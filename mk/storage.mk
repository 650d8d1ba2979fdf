# storage.mk - storage/ (disk quotas on loop-ext4, exact tree copies,
# snapshots, the export layer) for cellctl, its unit tests and test tool.
#
#   $(BUILD)/libstorage.a            linked into cellctl (CELLCTL_LIBS)
#   $(BUILD)/tests/test_storage_*    unit tests (tests/storage/test_*.c), in `make unit`
#   $(BUILD)/tools/storagetool       drives the library from tests/storage/*.bats
#   make storage-deps                installs what tests/suites/storage.sh needs

STORAGE_SRCS := $(wildcard storage/*.c)
STORAGE_OBJS := $(STORAGE_SRCS:%.c=$(BUILD)/obj/%.o)

$(BUILD)/libstorage.a: $(STORAGE_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

CELLCTL_LIBS += $(BUILD)/libstorage.a

STORAGE_UNIT_SRCS := $(wildcard tests/storage/test_*.c)
STORAGE_UNIT_BINS := $(STORAGE_UNIT_SRCS:tests/storage/test_%.c=$(BUILD)/tests/test_storage_%)

$(BUILD)/tests/test_storage_%: tests/storage/test_%.c tests/storage/treesum.h $(BUILD)/libstorage.a \
                               $(BUILD)/libcellbase.a tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libstorage.a $(BUILD)/libcellbase.a

$(BUILD)/tools/storagetool: tests/storage/storagetool.c tests/storage/treesum.h $(BUILD)/libstorage.a \
                            $(BUILD)/libcellbase.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libstorage.a $(BUILD)/libcellbase.a

unit: $(STORAGE_UNIT_BINS)
all: $(BUILD)/tools/storagetool

# mke2fs/resize2fs (e2fsprogs), losetup/findmnt (util-linux), podman for the
# export test.
STORAGE_DEB_PKGS = e2fsprogs util-linux podman busybox-static bats jq
DEB_PKGS += $(STORAGE_DEB_PKGS)

.PHONY: storage-deps
storage-deps:
	@missing=$$(for p in $(STORAGE_DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "storage-deps: installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
