# images: the image store (images/), `cellctl image ...` (cmd/cellctl/image.c).
#   $(BUILD)/libimages.a           linked into cellctl
#   make unit                      also $(BUILD)/tests/test_images_*
#   tests/bats/images.bats         the hostile-archive corpus (make quick)
#   tests/suites/images.sh         round trips with podman/docker (make check)
#   tests/bench/images.sh          import+unpack vs podman load, skopeo+umoci, tar -x

IMG_CFLAGS := $(call pkg_cflags,libarchive libcrypto)
IMG_LIBS   := $(call pkg_libs,libarchive,-larchive) $(call pkg_libs,libcrypto,-lcrypto)
IMG_SRCS   := $(wildcard images/*.c)
IMG_OBJS   := $(IMG_SRCS:%.c=$(BUILD)/obj/%.o)
IMG_TESTS  := $(patsubst tests/images/test_%.c,$(BUILD)/tests/test_images_%,$(wildcard tests/images/test_*.c))

$(BUILD)/obj/images/%.o: images/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(IMG_CFLAGS) -c -o $@ $<

$(BUILD)/libimages.a: $(IMG_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

CELLCTL_LIBS += $(BUILD)/libimages.a
CELLCTL_LDLIBS += $(IMG_LIBS)

$(BUILD)/tests/test_images_%: tests/images/test_%.c $(BUILD)/libimages.a $(BUILD)/libcellbase.a tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(IMG_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libimages.a $(BUILD)/libcellbase.a \
	  $(IMG_LIBS) $(LDLIBS_CELL)

unit: $(IMG_TESTS)

DEB_PKGS += libarchive-dev libssl-dev zstd python3 skopeo umoci podman docker.io busybox-static

# The libFuzzer target of the parsers (tests/fuzz/fuzz_images.c): fuzz.mk's pattern rule links only
# libfuzzcell.a, so this explicit rule adds images/oci.c, images/digest.c and libcrypto.
$(FUZZ_DIR)/fuzz_images: tests/fuzz/fuzz_images.c tests/fuzz/fuzz.h images/oci.c images/digest.c images/oci.h \
                         $(FUZZ_DIR)/libfuzzcell.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Itests/fuzz -fsanitize=fuzzer -o $@ tests/fuzz/fuzz_images.c images/oci.c \
	  images/digest.c $(FUZZ_DIR)/libfuzzcell.a $(LDLIBS_CELL) $(IMG_LIBS)
