#!/usr/bin/env bats
# examples/kubernetes: the manifests and the containerd snippet pass
# examples/kubernetes/check.py (kinds, apiVersions, required and unknown
# fields, references between them), and the checker rejects broken copies.

EX=$BATS_TEST_DIRNAME/../../examples/kubernetes
CHECK=$EX/check.py

setup() {
  D=$BATS_TEST_TMPDIR/k8s
  mkdir -p "$D"
  cp "$EX"/*.yaml "$EX"/*.toml "$D"/
}

@test "examples: the Kubernetes manifests and the containerd snippet check clean" {
  run python3 "$CHECK" "$EX"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "5 documents, 1 toml files, 0 problems" ]
  # the files the examples promise
  for f in runtimeclass.yaml cellfs-daemonset.yaml pod-cell.yaml pod-systemd.yaml containerd-config.toml; do
    [ -f "$EX/$f" ]
  done
}

@test "examples: the pods use RuntimeClass cell, limits, no hostPath; the systemd pod runs /sbin/init" {
  run python3 - "$EX" <<'PY'
import sys, yaml
ex = sys.argv[1]
pod = yaml.safe_load(open(f"{ex}/pod-cell.yaml"))
assert pod["spec"]["runtimeClassName"] == "cell"
assert "volumes" not in pod["spec"]
assert pod["spec"]["containers"][0]["resources"]["limits"] == {"memory": "256Mi", "cpu": "500m"}
sd = yaml.safe_load(open(f"{ex}/pod-systemd.yaml"))
assert sd["metadata"]["annotations"]["run.cell.init"] == "systemd"
assert sd["spec"]["containers"][0]["command"] == ["/sbin/init"]
assert sd["spec"]["runtimeClassName"] == "cell"
rc = yaml.safe_load(open(f"{ex}/runtimeclass.yaml"))
assert (rc["kind"], rc["metadata"]["name"], rc["handler"]) == ("RuntimeClass", "cell", "cell")
ds = yaml.safe_load(open(f"{ex}/cellfs-daemonset.yaml"))
t = ds["spec"]["template"]["spec"]
assert t["hostPID"] is True
assert t["containers"][0]["securityContext"]["privileged"] is True
m = {v["name"]: v for v in t["containers"][0]["volumeMounts"]}
assert m["cellfs"]["mountPropagation"] == "Bidirectional"
assert ds["spec"]["updateStrategy"]["rollingUpdate"]["maxSurge"] == 0
print("ok")
PY
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = ok ]
}

# break FILE SED-EXPR EXPECTED: the checker names the problem
breaks() {
  sed -i "$2" "$D/$1"
  run python3 "$CHECK" "$D"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ $output == *"$3"* ]]
}

@test "examples: the checker rejects a misspelled field" {
  breaks pod-cell.yaml 's/runtimeClassName:/runtimeClasName:/' "unknown field 'runtimeClasName'"
}

@test "examples: the checker rejects a wrong apiVersion and an unknown kind" {
  breaks runtimeclass.yaml 's|node.k8s.io/v1|node.k8s.io/v1beta9|' "apiVersion 'node.k8s.io/v1beta9'"
  cp "$EX/runtimeclass.yaml" "$D/"
  breaks pod-cell.yaml 's/^kind: Pod/kind: Pood/' "kind 'Pood'"
}

@test "examples: the checker rejects a missing image, a bad quantity and an unknown RuntimeClass" {
  breaks pod-systemd.yaml '/image:/d' "image: required string"
  cp "$EX/pod-systemd.yaml" "$D/"
  breaks pod-cell.yaml 's/memory: 256Mi, cpu: 500m}/memory: 256MB, cpu: 500m}/' "invalid quantity '256MB'"
  cp "$EX/pod-cell.yaml" "$D/"
  breaks pod-cell.yaml 's/runtimeClassName: cell/runtimeClassName: kata/' "runtimeClassName 'kata'"
}

@test "examples: the checker rejects a containerd snippet without the cell handler, and broken YAML" {
  breaks containerd-config.toml 's/runtimes.cell/runtimes.kell/' "no runtime handler 'cell'"
  cp "$EX/containerd-config.toml" "$D/"
  breaks cellfs-daemonset.yaml 's/^spec:/spec: [/' "YAML:"
}
