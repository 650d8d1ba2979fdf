# bundles.sh - sourced: builds the bundles of the start matrix (issue 14),
# the same on the host (runtime.bench.sh) and in the cgroup v2 VM
# (tests/vm/bench/start.bats).  Every runtime gets the identical bundle of a
# setup.  See tests/bench/README.md, "The start matrix".
#
#   bench_rootfs OUT            -> prints a busybox rootfs dir (cached)
#   bench_bundles OUT ROOTFS CGPARENT [SETUPS]
#       writes OUT/bundles/<setup>/{config.json,rootfs,host/} for each setup
#       (default "a-spec b-relcg c-podman c-containerd") and prints one
#       "-B setup=OUT/bundles/<setup>" startbench option a line.
#       CGPARENT: the relative cgroupsPath parent for the setups that have
#       one (b, c): "<CGPARENT>/<setup>".
# Needs: jq, crun (crun spec), $CELL (cell spec), $BENCH_TOP (repo top).

# shellcheck source=../lib/engine-binds.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/engine-binds.sh"

BENCH_OCI_VERSION=${BENCH_OCI_VERSION:-1.0.2}  # crun 1.8.1 refuses 1.2.0
BENCH_SETUPS_ALL="a-spec b-relcg c-podman c-containerd"

bench_rootfs() { # OUT
  local src
  if [ -x "$BENCH_TOP/tests/fixtures/mkrootfs.sh" ] &&
     src=$("$BENCH_TOP/tests/fixtures/mkrootfs.sh" 2>/dev/null | tail -n1) && [ -x "$src/bin/busybox" ]; then
    echo "$src"
    return 0
  fi
  src="$1/rootfs-src"
  if [ ! -x "$src/bin/busybox" ]; then
    rm -rf "$src"
    mkdir -p "$src"/{bin,proc,sys,dev,tmp,etc,root,run}
    cp /bin/busybox "$src/bin/busybox"
    for a in sh true false sleep; do ln -sf busybox "$src/bin/$a"; done
  fi
  echo "$src"
}

# _bench_adapt NAME SRC_CONFIG CGPATH|"" -> OUT/bundles/NAME/config.json
# The only changes to the source config (documented in README.md):
#   ociVersion -> $BENCH_OCI_VERSION; process.args -> ["true"];
#   process.terminal -> false; root.path: absolute/@ROOTFS@ -> the bundle's
#   rootfs (a relative one stays); linux.cgroupsPath -> CGPATH (or removed);
#   bind sources below @ENGINE_DIR@ -> files/dirs made in the bundle's host/;
#   hooks removed (none in the podman/containerd fixtures).
_bench_adapt() {
  local name=$1 cfg=$2 cg=$3 b=$bench_out/bundles/$1 root
  mkdir -p "$b/host"
  cp -a "$bench_src/." "$b/rootfs"
  root=$(jq -r .root.path "$cfg")
  case $root in @ROOTFS@ | /*) root=$b/rootfs ;; esac
  jq --arg v "$BENCH_OCI_VERSION" --arg root "$root" --arg cg "$cg" '
      .ociVersion = $v
      | .process.args = ["true"]
      | .process.terminal = false
      | .root.path = $root
      | if $cg == "" then del(.linux.cgroupsPath) else .linux.cgroupsPath = $cg end
      | del(.hooks)' "$cfg" >"$b/config.json" || return 1
  engine_binds "$b" "bundles: $name" || return 1
  if grep -qE '@[A-Z_]+@' "$b/config.json"; then
    echo "bundles: $name: placeholders left in config.json: $(grep -oE '@[A-Z_]+@' "$b/config.json" | sort -u | tr '\n' ' ')" >&2
    return 1
  fi
}

bench_bundles() { # OUT ROOTFS CGPARENT [SETUPS]
  local bench_out=$1 bench_src=$2 cgp=$3 setups=${4:-$BENCH_SETUPS_ALL} s tmp
  local fx=$BENCH_TOP/tests/fixtures/engine-configs
  rm -rf "$bench_out/bundles"
  mkdir -p "$bench_out/bundles"
  tmp=$(mktemp -d "$bench_out/bundles/.spec.XXXXXX")
  for s in $setups; do
    case $s in
      a-spec)
        (cd "$tmp" && rm -f config.json && "$CELL" spec >/dev/null) || { echo "bundles: $CELL spec failed" >&2; return 1; }
        _bench_adapt "$s" "$tmp/config.json" "" || return 1 ;;
      b-relcg)
        (cd "$tmp" && rm -f config.json && crun spec) || { echo "bundles: crun spec failed" >&2; return 1; }
        _bench_adapt "$s" "$tmp/config.json" "$cgp/$s" || return 1 ;;
      c-podman) _bench_adapt "$s" "$fx/podman-config-example.json" "$cgp/$s" || return 1 ;;
      c-containerd) _bench_adapt "$s" "$fx/containerd-config-example.json" "$cgp/$s" || return 1 ;;
      *) echo "bundles: unknown setup '$s' (known: $BENCH_SETUPS_ALL)" >&2; return 1 ;;
    esac
    echo "-B"
    echo "$s=$bench_out/bundles/$s"
  done
  rm -rf "$tmp"
}
