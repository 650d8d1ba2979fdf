#!/bin/bash
# latency.sh - RunPodSandbox-to-running-container latency through containerd's
# CRI, cell against runc, same containerd, rounds interleaved (the order
# alternates each round).  Host-network pod, busybox `sleep` container.
#
#   tests/engines/cri/latency.sh [N]      (N rounds, default 20)
#   CELL=path/to/cell tests/engines/cri/latency.sh
#
# Prints a table: handler, median, min, max (ms), and the cell/runc ratio of
# the medians.  Uses the node of tests/engines/cri/lib.bash (private
# containerd in its own netns, cleaned up on exit).
set -u
n=${1:-20}
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
eng_log() { echo "# $*" >&2; }
# shellcheck source=../lib.bash
source "$top/tests/engines/lib.bash"
# shellcheck source=lib.bash
source "$top/tests/engines/cri/lib.bash"
cleanup() { cri_node_down; eng_fini; }
trap cleanup EXIT
eng_init hcri-bench || exit 1
cri_node_up || exit 1
pod=$(cri_pod_config bench node '.annotations = {}')
ctr=$(cri_ctr_config c . sleep 600)
out=$(cri latency "$n" "$pod" "$ctr" cell runc) || exit 1
echo "RunPodSandbox -> container running, $n rounds each, interleaved (ms)"
jq -r '
  def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def r: . * 10 | round / 10;
  (["handler", "median", "min", "max"] | @tsv),
  (to_entries[] | [.key, (.value | med | r), (.value | min | r), (.value | max | r)] | @tsv),
  (["cell/runc", ((.cell | med) / (.runc | med) * 100 | round / 100)] | @tsv)' <<<"$out" | column -t
