#!/usr/bin/env bats
# Smoke run of tests/bench/env.sh (1 round, 2 environments per tool): every
# tool boots the Debian rootfs to running and stops, and the density part
# measures each tool; cell (and cellctl with reboot = stop) keeps no host
# process per environment while LXC keeps its monitor.  No time is judged.
load helpers

@test "env benchmark smoke: every tool measured, cell keeps no resident process, LXC keeps its monitor" {
  run env ENV_BENCH_ROUNDS=1 ENV_BENCH_DENSITY=2 "$CELL_TOP/tests/bench/env.sh"
  echo "$output"
  [ "$status" -eq 0 ]
  local boot=$CELL_TOP/build/bench/env-boot.tsv dens=$CELL_TOP/build/bench/env-density.tsv t
  for t in cellctl cell cell-priv nspawn lxc; do
    awk -v t="$t" '$1 == t && $3 > 0 && $4 > 0 { f = 1 } END { exit !f }' "$boot"
  done
  for t in cellctl cellctl-noreaper cell nspawn lxc; do
    awk -v t="$t" '$1 == t && $2 == 2 { f = 1 } END { exit !f }' "$dens"
  done
  [ "$(awk '$1 == "cell" { print $4 }' "$dens")" = 0.00 ]
  [ "$(awk '$1 == "cellctl-noreaper" { print $4 }' "$dens")" = 0.00 ]
  [ "$(awk '$1 == "lxc" { print $4 }' "$dens")" = 1.00 ]
  [[ $output == *"boot/best-peer"* ]]
  # nothing left behind
  ! findmnt -rno TARGET | grep -q '^/tmp/henv2-bench\.'
  [ -z "$(find /sys/fs/cgroup -maxdepth 6 -type d \( -name 'henv2-bench*' -o -name '*henv2-b-*' -o -name '*henv2-d-*' \) 2>/dev/null)" ]
}
