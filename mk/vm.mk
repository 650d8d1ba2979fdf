# cgroup v2 VM test harness (tests/vm/README.md).
#   make vm-deps     install qemu and the tools the harness needs (idempotent)
#   make test-vm     boot Debian's kernel under qemu and run tests/vm/*.bats
#                    (VM_BATS="a.bats b.bats" to run other files)
VM_DEB_PKGS = qemu-system-x86 busybox-static bats xz-utils zstd
VM_BATS ?= $(wildcard tests/vm/*.bats)

.PHONY: vm-deps test-vm
vm-deps:
	@missing=$$(for p in $(VM_DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

test-vm: vm-deps all
	tests/vm/run.sh $(VM_BATS)
