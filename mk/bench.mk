# bench.mk - the benchmarks (tests/bench) and their smoke suite.
#
#   make bench-deps            install crun, runc, gnuplot-nox, busybox-static, jq,
#                              util-linux (only what is missing; idempotent)
#   make build/bench/startbench   the C driver that times create/start/wait/delete
#                              (-B setups) and commands (-c: exec, list, state)
#   make bench                 (top Makefile) runs tests/bench/run.sh, i.e. every
#                              tests/bench/*.bench.sh: the start matrix
#                              (runtime), exec, accumulate, vm (cgroup v2 guest;
#                              BENCH_VM=0 leaves it out), ...; this fragment adds
#                              the two prerequisites above to it.
#   tests/suites/bench-smoke.sh   (make check) each piece once at tiny counts.

BENCH_DEB_PKGS = crun runc gnuplot-nox busybox-static jq util-linux strace

.PHONY: bench-deps

bench-deps:
	@missing=$$(for p in $(BENCH_DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "bench-deps: installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# The driver uses only libc; it is not part of libcell.
$(BUILD)/bench/startbench: tests/bench/startbench.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -lm

bench: bench-deps $(BUILD)/bench/startbench
