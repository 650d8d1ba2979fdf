#!/bin/bash
# mkcorpus.sh NAME DIR - (re)make the seed corpus of fuzz target NAME in DIR
# from the test fixtures and the hand-made seeds in tests/fuzz/seeds/NAME
# (regression inputs of fixed bugs among them).  Nothing here is committed.
set -euo pipefail
name=$1 out=$2
top=$(cd "$(dirname "$0")/../.." && pwd)
fx=$top/tests/fixtures
rm -rf "$out" "$out.dict"
mkdir -p "$out"
if [ -d "$top/tests/fuzz/seeds/$name" ]; then
  cp "$top/tests/fuzz/seeds/$name"/* "$out"/ 2>/dev/null || true
fi
put() { # put TAG < data  (TAG unique within the target)
  cat >"$out/fx-$1"
}
have_jq() { command -v jq >/dev/null; }
spec_seed=$top/tests/fuzz/seeds/spec/default.json

# A libFuzzer dictionary of the parser's own string literals (config keys,
# action names, cgroup file keys), next to the corpus as DIR.dict.
dict() { # dict JSON(0|1) SOURCES...
  local json=$1; shift
  grep -ohE '"[A-Za-z_][A-Za-z0-9_.=-]{1,39}"' "$@" | sort -u | while IFS= read -r t; do
    if [ "$json" = 1 ]; then printf '"\\"%s\\""\n' "${t:1:-1}"; else printf '%s\n' "$t"; fi
  done >"$out.dict"
}

case $name in
spec)
  dict 1 "$top"/runtime/*.c "$top"/cgroups/*.c
  if have_jq; then
    for p in "$fx"/seccomp/*.json; do
      jq -c --slurpfile s "$p" '.linux.seccomp = $s[0]' "$spec_seed" | put "seccomp-$(basename "$p")"
    done
    jq -c --slurpfile r "$fx/cgroup/resources.json" '.linux.resources = $r[0]' "$spec_seed" | put resources
    for cp in machine-a-b.slice:cell:ctr /abs/path rel/path; do
      jq -c --arg p "$cp" '.linux.cgroupsPath = $p' "$spec_seed" | put "cgroupspath-${cp//\//_}"
    done
  fi
  ;;
process)
  dict 1 "$top"/runtime/{spec,caps,procattr}.c
  have_jq && jq -c '.process' "$spec_seed" | put default-process
  ;;
resources)
  dict 1 "$top"/cgroups/{resources,devices}.c
  put resources.json <"$fx/cgroup/resources.json"
  ;;
cg_mountinfo)
  dict 0 "$top"/cgroups/cgroup.c
  for d in "$fx"/cgroup/*/; do
    [ -f "$d/mountinfo" ] || continue
    for mi in "$d"/mountinfo*; do
      { cat "$d/proc_self_cgroup"; printf '\0'; cat "$mi"; } | put "$(basename "$d")-$(basename "$mi")"
      put "$(basename "$d")-$(basename "$mi")-only" <"$mi"
    done
  done
  { cat /proc/self/cgroup; printf '\0'; cat /proc/self/mountinfo; } | put host
  ;;
fsv_mountinfo)
  dict 0 "$top"/fsview/cgroup.c
  for mi in "$fx"/cgroup/*/mountinfo*; do
    put "$(basename "$(dirname "$mi")")-$(basename "$mi")" <"$mi"
  done
  put host </proc/self/mountinfo
  ;;
cgfiles)
  dict 0 "$top"/fsview/render.c
  while IFS= read -r f; do
    rel=${f#"$fx"/}
    put "${rel//\//_}" <"$f"
  done < <(find "$fx/fsview" "$fx/cgroup" -type f ! -name '*.json' ! -name '*.expected' -size -64k | sort)
  ;;
images)
  dict 1 "$top"/images/oci.c
  ;;
*)
  echo "mkcorpus: unknown target $name" >&2
  exit 1
  ;;
esac
