#!/usr/bin/env bats
# `cellctl image pull` against Debian's docker-registry on 127.0.0.1 with
# token auth (helpers.bash), seeded with skopeo from oci-archives built here
# offline from busybox-static (tests/pull/mkimage.py).

load helpers

setup_file() {
  start_registry
  local w=$BATS_FILE_TMPDIR/img
  mkdir -p "$w"
  busybox_tree "$w/bb"
  python3 "$PULL_TOP/tests/pull/mkimage.py" "$w/bb.tar" "$w/bb" >"$w/bb.digest"
  seed test/busybox:latest "$w/bb.tar"
  python3 "$PULL_TOP/tests/pull/mkimage.py" --multiarch "$w/multi.tar" "$w/bb" >"$w/multi.digest"
  seed test/multi:latest "$w/multi.tar" --all
  # the same images as Docker v2 schema 2: a manifest, and a manifest list
  seed test/docker:latest "$w/bb.tar" "--format v2s2"
  seed test/dockerlist:latest "$w/multi.tar" "--all --format v2s2"
  # a big incompressible layer for the interrupted download
  mkdir -p "$w/big/data"
  head -c $((24 << 20)) /dev/urandom >"$w/big/data/random"
  python3 "$PULL_TOP/tests/pull/mkimage.py" "$w/big.tar" "$w/big" >"$w/big.digest"
  seed test/big:latest "$w/big.tar"
  # an image of its own for the corruption test (its layer is in no other image)
  mkdir -p "$w/corrupt/etc"
  head -c 200000 /dev/urandom >"$w/corrupt/etc/noise"
  python3 "$PULL_TOP/tests/pull/mkimage.py" "$w/corrupt.tar" "$w/corrupt" >"$w/corrupt.digest"
  seed test/corrupt:latest "$w/corrupt.tar"
}

teardown_file() {
  stop_registry
}

setup() {
  ROOT=$BATS_TEST_TMPDIR/root-h-pull
  IMG=$BATS_FILE_TMPDIR/img
  export CELL_REGISTRIES_CONF=$REGDIR/registries.conf
}

# manifest REPO REFERENCE [ACCEPT]: the registry's manifest bytes
manifest() {
  local tok
  tok=$(curl -sf -u "$REG_USER:$REG_PASS" \
    "http://127.0.0.1:$TOK_PORT/token?service=h-pull-registry&scope=repository:$1:pull" | jq -r .token)
  curl -sf -H "Authorization: Bearer $tok" \
    -H "Accept: ${3:-application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json}" \
    "http://$REG/v2/$1/manifests/$2"
}

# the layer blob of a single-layer image in the registry: "DIGEST SIZE"
layer_of() { # REPO
  local tok
  tok=$(curl -sf -u "$REG_USER:$REG_PASS" \
    "http://127.0.0.1:$TOK_PORT/token?service=h-pull-registry&scope=repository:$1:pull" | jq -r .token)
  curl -sf -H "Authorization: Bearer $tok" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$REG/v2/$1/manifests/latest" | jq -r '.layers[0] | "\(.digest) \(.size)"'
}

@test "pull: anonymous requests are refused; without credentials the error names the ref, URL and HTTP status" {
  run curl -s -o /dev/null -w '%{http_code}' "http://$REG/v2/test/busybox/manifests/latest"
  [ "$output" = 401 ]
  CELL_REGISTRIES_CONF=$BATS_TEST_TMPDIR/none.conf run cellctl image pull "$REG/test/busybox"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ $output == *"pull $REG/test/busybox"* ]]
  [[ $output == *"http://127.0.0.1:$TOK_PORT/token?service=h-pull-registry"* ]]
  [[ $output == *"HTTP 401"* ]]
  grep -q "^401 repository:test/busybox:pull" "$REGDIR/token.log"
  store_empty
}

@test "pull: by tag, with a bearer token from the token server" {
  run cellctl image pull "$REG/test/busybox:latest"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "$(cat "$IMG/bb.digest")" ]
  grep -q "^200 repository:test/busybox:pull$" "$REGDIR/token.log"
  grep -q "GET /v2/test/busybox/manifests/latest HTTP/1.1\" 200" "$REGDIR/registry.log"
  run "$PULL_LAYERS" "$ROOT" "$REG/test/busybox:latest"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  cmp "${lines[0]}/bin/busybox" /bin/busybox
  [ "$(readlink "${lines[0]}/bin/sh")" = busybox ]
  [ -z "$(ls -A "$ROOT/images/tmp")" ] && [ -z "$(ls -A "$ROOT/images/partial")" ]
  # again: the blobs come from the store, only the manifest is fetched
  run cellctl image pull "$REG/test/busybox:latest"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output == *"pulled $REG/test/busybox:latest: 0 bytes fetched"* ]]
}

@test "pull: Docker v2 schema 2 manifests and manifest lists" {
  local m
  m=$(manifest test/docker latest)
  [ "$(jq -r .mediaType <<<"$m")" = application/vnd.docker.distribution.manifest.v2+json ]
  run cellctl image pull "$REG/test/docker"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "sha256:$(printf '%s' "$m" | sha256sum | cut -d' ' -f1)" ]
  run "$PULL_LAYERS" "$ROOT" "$REG/test/docker:latest"
  [ "$status" -eq 0 ]
  cmp "${lines[0]}/bin/busybox" /bin/busybox
  m=$(manifest test/dockerlist latest)
  [ "$(jq -r .mediaType <<<"$m")" = application/vnd.docker.distribution.manifest.list.v2+json ]
  run cellctl image pull "$REG/test/dockerlist"
  echo "$output"
  [ "$status" -eq 0 ]
  # the list's entry for this machine
  local arch
  case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
  [ "${lines[-1]}" = "$(jq -r --arg a "$arch" '.manifests[] | select(.platform.architecture == $a and .platform.os == "linux") | .digest' <<<"$m")" ]
}

@test "pull: two concurrent pulls of one image into one store both succeed" {
  local p1 p2
  "$CELLCTL" --root "$ROOT" image pull "$REG/test/busybox" >"$BATS_TEST_TMPDIR/1.out" 2>&1 &
  p1=$!
  "$CELLCTL" --root "$ROOT" image pull "$REG/test/busybox" >"$BATS_TEST_TMPDIR/2.out" 2>&1 &
  p2=$!
  wait $p1 || { cat "$BATS_TEST_TMPDIR/1.out"; false; }
  wait $p2 || { cat "$BATS_TEST_TMPDIR/2.out"; false; }
  [ "$(tail -n1 "$BATS_TEST_TMPDIR/1.out")" = "$(cat "$IMG/bb.digest")" ]
  [ "$(tail -n1 "$BATS_TEST_TMPDIR/2.out")" = "$(cat "$IMG/bb.digest")" ]
  [ "$(jq '.manifests | length' "$ROOT/images/index.json")" = 1 ]
  [ -z "$(ls -A "$ROOT/images/tmp")" ] && [ -z "$(ls -A "$ROOT/images/partial")" ]
  cmp "$("$PULL_LAYERS" "$ROOT" "$REG/test/busybox:latest")/bin/busybox" /bin/busybox
}

@test "pull: by digest, named with --name; an unknown digest is a 404 naming the URL" {
  local d
  d=$(cat "$IMG/bb.digest")
  run cellctl image pull --name bb:pinned "$REG/test/busybox@$d"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "$d" ]
  grep -q "GET /v2/test/busybox/manifests/$d HTTP/1.1\" 200" "$REGDIR/registry.log"
  "$PULL_LAYERS" "$ROOT" bb:pinned | grep -q .
  local none=sha256:$(printf 'h-pull' | sha256sum | cut -d' ' -f1)
  run cellctl image pull "$REG/test/busybox@$none"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ $output == *"http://$REG/v2/test/busybox/manifests/$none"* ]]
  [[ $output == *"HTTP 404"* ]]
  [[ $output == *"MANIFEST_UNKNOWN"* ]]
}

@test "pull: a multi-arch index resolves to this machine's platform" {
  run cellctl image pull "$REG/test/multi"
  echo "$output"
  [ "$status" -eq 0 ]
  # mkimage printed the index digest, then this platform's manifest digest
  [ "${lines[-1]}" = "$(sed -n 2p "$IMG/multi.digest")" ]
  run "$PULL_LAYERS" "$ROOT" "$REG/test/multi:latest"
  [ "$status" -eq 0 ]
  cmp "${lines[0]}/bin/busybox" /bin/busybox
  [ ! -e "${lines[0]}/etc/platform" ]
}

@test "pull: a pull killed during a large blob resumes with a Range request and fetches only the rest" {
  local digest size hex partial have pid sent remaining i
  read -r digest size < <(layer_of test/big)
  hex=${digest#sha256:}
  partial=$ROOT/images/partial/sha256-$hex
  "$CELLCTL" --root "$ROOT" image pull "$PROXY/test/big" >"$BATS_TEST_TMPDIR/first.out" 2>&1 &
  pid=$!
  for i in $(seq 600); do
    [ "$(stat -c %s "$partial" 2>/dev/null || echo 0)" -ge $((size / 3)) ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL $pid
  wait $pid || true
  have=$(stat -c %s "$partial")
  echo "killed at $have of $size bytes"
  [ "$have" -ge $((size / 3)) ] && [ "$have" -lt "$size" ]
  # the proxy logs the cut connection (at least what the file holds) before the count restarts
  for i in $(seq 100); do
    awk -v h="$have" '$1 >= h {f = 1} END {exit !f}' "$REGDIR/proxy.log" && break
    sleep 0.1
  done
  : >"$REGDIR/proxy.log"
  run cellctl image pull "$PROXY/test/big"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output == *"resuming layer 1 $digest at $have of $size bytes"* ]]
  for i in $(seq 100); do [ -s "$REGDIR/proxy.log" ] && break; sleep 0.1; done
  sleep 0.3
  sent=$(awk '{s += $1} END {print s + 0}' "$REGDIR/proxy.log")
  remaining=$((size - have))
  echo "the proxy sent $sent bytes for the second pull; $remaining were missing"
  # the rest of the blob, plus headers, the manifest and the config: far less than the blob
  [ "$sent" -ge "$remaining" ] && [ "$sent" -lt $((remaining + 65536)) ]
  grep -q "GET /v2/test/big/blobs/$digest HTTP/1.1\" 206" "$REGDIR/registry.log"
  [ ! -e "$partial" ]
  run "$PULL_LAYERS" "$ROOT" "$PROXY/test/big:latest"
  [ "$status" -eq 0 ]
  cmp "${lines[0]}/data/random" "$IMG/big/data/random"
  [ -z "$(ls -A "$ROOT/images/tmp")" ]
}

@test "pull: a corrupted blob is refused and nothing is left in the store" {
  local digest size hex f
  read -r digest size < <(layer_of test/corrupt)
  hex=${digest#sha256:}
  f=$REGDIR/data/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data
  [ "$(stat -c %s "$f")" -eq "$size" ]
  # flip one byte in the middle; the size stays
  python3 -c 'import sys; f = open(sys.argv[1], "r+b"); n = int(sys.argv[2]) // 2; f.seek(n); b = f.read(1); f.seek(n); f.write(bytes([b[0] ^ 0xff]))' "$f" "$size"
  run cellctl image pull "$REG/test/corrupt"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ $output == *"pull $REG/test/corrupt"* ]]
  [[ $output == *"http://$REG/v2/test/corrupt/blobs/$digest"* ]]
  [[ $output == *"content has digest sha256:"*", not $digest"* ]]
  store_empty
  [ ! -e "$ROOT/images/blobs/sha256/$hex" ]
}

@test "pull: mirrors from registries.conf are tried in order, then the registry" {
  run cellctl image pull h-pull.invalid/test/busybox
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output == *"mirror http://127.0.0.1:1 failed"* ]]
  [ "${lines[-1]}" = "$(cat "$IMG/bb.digest")" ]
  "$PULL_LAYERS" "$ROOT" h-pull.invalid/test/busybox:latest | grep -q .
  # a docker.io name through its mirror: stored as docker.io/test/busybox:latest, found by its short name
  run cellctl image pull test/busybox
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output == *"pulled test/busybox:latest"* ]]
  cellctl --json image ls | jq -e '.[].names[] | select(. == "docker.io/test/busybox:latest")'
  "$PULL_LAYERS" "$ROOT" test/busybox | grep -q .
  # a config that is not JSON is an error naming the file
  echo '{"registries": [' >"$BATS_TEST_TMPDIR/bad.conf"
  CELL_REGISTRIES_CONF=$BATS_TEST_TMPDIR/bad.conf run cellctl image pull "$REG/test/busybox"
  [ "$status" -eq 1 ]
  [[ $output == *"$BATS_TEST_TMPDIR/bad.conf: not valid JSON"* ]]
}

@test "pull: over HTTPS, verified with the CA that registries.conf names" {
  run cellctl image pull h-pull-tls.invalid/test/busybox
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "$(cat "$IMG/bb.digest")" ]
  grep -q '"GET /v2/test/busybox/manifests/latest HTTP/2.0" 200' "$REGDIR/tlsreg.log"
  # without the CA the certificate is refused, and the error names the URL
  jq 'del(.registries["h-pull-tls.invalid"].ca)' "$REGDIR/registries.conf" >"$BATS_TEST_TMPDIR/noca.conf"
  CELL_REGISTRIES_CONF=$BATS_TEST_TMPDIR/noca.conf run cellctl image pull h-pull-tls.invalid/test/busybox:x
  echo "$output"
  [ "$status" -eq 1 ]
  [[ $output == *"mirror https://$TLSREG failed"*"GET https://$TLSREG/v2/test/busybox/manifests/x"*"certificate"* ]]
}

@test "pull: bad references and usage are refused, naming the fault" {
  run cellctl image pull "$REG/Test/busybox"
  [ "$status" -eq 1 ]
  [[ $output == *"$REG/Test/busybox"*"lowercase"* ]]
  run cellctl image pull "busybox@sha512:abcd"
  [ "$status" -eq 1 ]
  [[ $output == *"sha512"*"not supported"* ]]
  run cellctl image pull
  [ "$status" -eq 2 ]
  run cellctl image pull --bogus x
  [ "$status" -eq 2 ]
  [[ $output == *"--bogus"* ]]
  run cellctl image pull --help
  [ "$status" -eq 0 ]
  [[ $output == *"registries.conf"* ]]
}

@test "pull: partial blobs left for a week are pruned, recent ones kept for resuming" {
  local old=sha256-$(printf old | sha256sum | cut -d' ' -f1) new=sha256-$(printf new | sha256sum | cut -d' ' -f1)
  mkdir -p "$ROOT/images/partial"
  echo stale >"$ROOT/images/partial/$old"
  touch -d '8 days ago' "$ROOT/images/partial/$old"
  echo recent >"$ROOT/images/partial/$new"
  run cellctl image pull "$REG/test/busybox"
  [ "$status" -eq 0 ]
  [ ! -e "$ROOT/images/partial/$old" ]
  [ -e "$ROOT/images/partial/$new" ]
}
