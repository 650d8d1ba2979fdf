# Real container engines driving the runtime (tests/engines/README.md).
#   make engines-deps   install podman, containerd, docker.io and the tools the
#                       scenarios use (idempotent: only what is missing)
#   make engines        run tests/engines/*.bats against build/cell
#   make engines-runc   the same scenarios against Debian's runc (reference)
# ENGINES_BATS="tests/engines/podman.bats" runs a subset.
ENGINES_DEB_PKGS = podman conmon catatonit containernetworking-plugins containerd docker.io \
                   python3-grpcio python3-protobuf protobuf-compiler gcc libc6-dev iproute2 mmdebstrap \
                   runc bats busybox-static uidmap bsdutils util-linux tmux jq coreutils
ENGINES_BATS ?= $(wildcard tests/engines/*.bats)

.PHONY: engines-deps engines engines-runc
engines-deps:
	@missing=$$(for p in $(ENGINES_DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

engines: engines-deps all
	CELL=$(abspath $(BUILD)/cell) bats --timing $(ENGINES_BATS)

engines-runc: engines-deps
	CELL=/usr/sbin/runc bats --timing $(ENGINES_BATS)
