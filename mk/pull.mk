# pull: `cellctl image pull` (images/registry.c, images/pull.c: libcurl, OpenSSL)
# and `cellctl image bootstrap` (images/bootstrap.c: mmdebstrap).  The sources
# are in libimages.a (mk/images.mk builds images/*.c); this adds their link
# flags, the unit tests tests/images/test_pull_*.c and the packages.
#   make unit          -> also $(BUILD)/tests/test_images_pull_*
#   tests/suites/pull.sh  docker-registry + token server on 127.0.0.1, bootstrap

PULL_LIBS := $(call pkg_libs,libcurl,-lcurl) $(call pkg_libs,libcrypto,-lcrypto)
CELLCTL_LDLIBS += $(PULL_LIBS)

# mk/images.mk's test_images_% rule builds these too; they also need libcurl.
PULL_TESTS := $(patsubst tests/images/test_%.c,$(BUILD)/tests/test_images_%,$(wildcard tests/images/test_pull_*.c))
$(PULL_TESTS): IMG_LIBS += $(PULL_LIBS)
unit: $(PULL_TESTS)

# A test helper: lists an image's layer dirs through img_rootfs_layers.
$(BUILD)/tools/pull_layers: tests/pull/pull_layers.c $(BUILD)/libimages.a $(BUILD)/libcellbase.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libimages.a $(BUILD)/libcellbase.a $(IMG_LIBS) $(PULL_LIBS) $(LDLIBS_CELL)

DEB_PKGS += $(PULL_PKGS)

PULL_PKGS = libcurl4-openssl-dev libssl-dev mmdebstrap docker-registry skopeo openssl python3 \
            python3-cryptography busybox-static bats jq curl iproute2
pull-deps:
	@missing=$$(for p in $(PULL_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
.PHONY: pull-deps
