# helpers.bash - the pull suite's registry: Debian's docker-registry on
# 127.0.0.1 with token auth (tests/pull/token_server.py, a JWT signed by a key
# made here with openssl), and a throttling TCP proxy in front of it
# (tests/pull/slowproxy.py) for the interrupted-download test.  All three are
# started by start_registry (setup_file) and stopped by pid in stop_registry.
# A second docker-registry on the same storage serves HTTPS (a certificate
# for IP 127.0.0.1 made here).  Ports are h-pull's own: 35100 registry,
# 35101 tokens, 35102 proxy, 35103 the HTTPS registry.

PULL_TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
CELL=${CELL:-$PULL_TOP/build/cell}
CELLCTL=${CELLCTL:-$(dirname "$CELL")/cellctl}
PULL_LAYERS=${PULL_LAYERS:-$PULL_TOP/build/tools/pull_layers}
REG_PORT=35100 TOK_PORT=35101 PROXY_PORT=35102 TLS_PORT=35103
REG=127.0.0.1:$REG_PORT PROXY=127.0.0.1:$PROXY_PORT TLSREG=127.0.0.1:$TLS_PORT
REG_USER=alice REG_PASS=s3cret-h-pull
# bytes per second through the proxy: a 24 MiB layer takes ~8 s
PROXY_RATE=3145728

port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }

wait_port() { # PORT PID
  local i
  for i in $(seq 100); do
    ss -Hltn "sport = :$1" | grep -q . && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

start_registry() {
  export REGDIR=$BATS_FILE_TMPDIR/registry-h-pull
  mkdir -p "$REGDIR/data"
  for p in $REG_PORT $TOK_PORT $PROXY_PORT $TLS_PORT; do
    port_free "$p" || { echo "port $p is in use" >&2; return 1; }
  done
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$REGDIR/token.key" -out "$REGDIR/token.crt" \
    -days 2 -subj /CN=h-pull-token 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$REGDIR/tls.key" -out "$REGDIR/tls.crt" \
    -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
  cat >"$REGDIR/config.yml" <<YML
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $REGDIR/data
  delete:
    enabled: true
http:
  addr: $REG
auth:
  token:
    realm: http://127.0.0.1:$TOK_PORT/token
    service: h-pull-registry
    issuer: h-pull-issuer
    rootcertbundle: $REGDIR/token.crt
YML
  sed -e "s|addr: $REG|addr: $TLSREG\\n  tls:\\n    certificate: $REGDIR/tls.crt\\n    key: $REGDIR/tls.key|" \
    "$REGDIR/config.yml" | sed 's/\\n/\n/g' >"$REGDIR/tls.yml"
  docker-registry serve "$REGDIR/config.yml" >"$REGDIR/registry.log" 2>&1 &
  echo $! >"$REGDIR/registry.pid"
  docker-registry serve "$REGDIR/tls.yml" >"$REGDIR/tlsreg.log" 2>&1 &
  echo $! >"$REGDIR/tlsreg.pid"
  python3 "$PULL_TOP/tests/pull/token_server.py" $TOK_PORT "$REGDIR/token.key" "$REGDIR/token.crt" \
    h-pull-issuer h-pull-registry "$REG_USER:$REG_PASS" "$REGDIR/token.log" >"$REGDIR/token.out" 2>&1 &
  echo $! >"$REGDIR/token.pid"
  python3 "$PULL_TOP/tests/pull/slowproxy.py" $PROXY_PORT $REG_PORT $PROXY_RATE "$REGDIR/proxy.log" \
    >"$REGDIR/proxy.out" 2>&1 &
  echo $! >"$REGDIR/proxy.pid"
  wait_port $REG_PORT "$(cat "$REGDIR/registry.pid")" || { cat "$REGDIR/registry.log" >&2; return 1; }
  wait_port $TOK_PORT "$(cat "$REGDIR/token.pid")" || { cat "$REGDIR/token.out" >&2; return 1; }
  wait_port $PROXY_PORT "$(cat "$REGDIR/proxy.pid")" || { cat "$REGDIR/proxy.out" >&2; return 1; }
  wait_port $TLS_PORT "$(cat "$REGDIR/tlsreg.pid")" || { cat "$REGDIR/tlsreg.log" >&2; return 1; }
  # registries.conf: the credentials for the registry, the proxy and a mirrored name
  cat >"$REGDIR/registries.conf" <<JSON
{"registries": {
  "$REG": {"username": "$REG_USER", "password": "$REG_PASS"},
  "$PROXY": {"username": "$REG_USER", "password": "$REG_PASS"},
  "h-pull.invalid": {"mirrors": ["http://127.0.0.1:1", "http://$REG"],
                     "username": "$REG_USER", "password": "$REG_PASS"},
  "docker.io": {"mirrors": ["http://$REG"], "username": "$REG_USER", "password": "$REG_PASS"},
  "h-pull-tls.invalid": {"mirrors": ["https://$TLSREG"], "ca": "$REGDIR/tls.crt",
                         "username": "$REG_USER", "password": "$REG_PASS"}}}
JSON
}

stop_registry() {
  local f pid
  for f in registry tlsreg token proxy; do
    pid=$(cat "$REGDIR/$f.pid" 2>/dev/null) || continue
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  return 0
}

# seed NAME:TAG OCI-ARCHIVE [--all]: push with skopeo (token auth)
seed() {
  skopeo copy -q ${3:-} --dest-tls-verify=false --dest-creds "$REG_USER:$REG_PASS" \
    "oci-archive:$2" "docker://$REG/$1"
}

# a rootfs dir with busybox-static
busybox_tree() {
  mkdir -p "$1/bin"
  cp /bin/busybox "$1/bin/busybox"
  ln -sf busybox "$1/bin/sh"
}

cellctl() { timeout -k 5 120 "$CELLCTL" --root "$ROOT" "$@"; }

# store_clean: no image in the store's index, no staging dir, no partial blob
store_empty() {
  [ "$(jq '.manifests | length' "$ROOT/images/index.json")" = 0 ] || return 1
  [ -z "$(ls -A "$ROOT/images/tmp")" ] || return 1
  [ ! -d "$ROOT/images/partial" ] || [ -z "$(ls -A "$ROOT/images/partial")" ]
}
