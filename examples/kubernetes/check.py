#!/usr/bin/env python3
"""check.py DIR - check the Kubernetes manifests and the containerd snippet in DIR.

Offline (kubectl needs an API server to map kinds): every *.yaml document
must be a known kind with its apiVersion, carry the fields the API requires
and no field the API does not know (the subset of the v1 schema these
examples use: Pod, DaemonSet, RuntimeClass); quantities, volume references,
selectors and runtimeClassName are checked, and every *.toml must parse and
register the RuntimeClasses' handlers as runc v2 shims with a BinaryName.
Prints one line per problem and exits 1 if there is any.
"""
import glob
import os
import re
import sys
import tomllib

import yaml

KINDS = {"Pod": "v1", "DaemonSet": "apps/v1", "RuntimeClass": "node.k8s.io/v1"}
QTY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti|Pi|Ei)?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUB = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")

META = {"name", "namespace", "labels", "annotations", "generateName"}
POD_SPEC = {"containers", "initContainers", "volumes", "hostPID", "hostNetwork", "hostIPC",
            "runtimeClassName", "priorityClassName", "tolerations", "nodeSelector", "restartPolicy",
            "terminationGracePeriodSeconds", "serviceAccountName", "securityContext", "affinity",
            "dnsPolicy", "hostname", "shareProcessNamespace"}
CONTAINER = {"name", "image", "command", "args", "env", "resources", "volumeMounts", "securityContext",
             "lifecycle", "ports", "livenessProbe", "readinessProbe", "startupProbe", "tty", "stdin",
             "workingDir", "imagePullPolicy"}
REQUIRED = {"Pod": ["spec.containers"], "DaemonSet": ["spec.selector", "spec.template.spec.containers"],
            "RuntimeClass": ["handler"]}
TOP = {"Pod": {"spec"}, "DaemonSet": {"spec"}, "RuntimeClass": {"handler", "overhead", "scheduling"}}
DS_SPEC = {"selector", "template", "updateStrategy", "minReadySeconds", "revisionHistoryLimit"}
CRI = "io.containerd.grpc.v1.cri"


class Checker:
    def __init__(self):
        self.problems = []

    def bad(self, where, msg):
        self.problems.append(f"{where}: {msg}")

    def fields(self, where, obj, allowed):
        if not isinstance(obj, dict):
            self.bad(where, "must be a mapping")
            return False
        for k in obj:
            if k not in allowed:
                self.bad(where, f"unknown field {k!r}")
        return True

    def qty(self, where, v):
        if not QTY.match(str(v)):
            self.bad(where, f"invalid quantity {v!r}")

    def container(self, where, c, volumes):
        if not self.fields(where, c, CONTAINER):
            return
        for f in ("name", "image"):
            if not isinstance(c.get(f), str) or not c[f]:
                self.bad(where, f"{f}: required string")
        if isinstance(c.get("name"), str) and not DNS_LABEL.match(c["name"]):
            self.bad(where, f"name {c['name']!r} is not a DNS label")
        for f in ("command", "args"):
            if f in c and not (isinstance(c[f], list) and all(isinstance(x, str) for x in c[f])):
                self.bad(where, f"{f}: must be a list of strings")
        res = c.get("resources", {})
        if self.fields(f"{where}.resources", res, {"limits", "requests"}):
            for kind, vals in res.items():
                if self.fields(f"{where}.resources.{kind}", vals, {"cpu", "memory", "ephemeral-storage"}):
                    for k, v in vals.items():
                        self.qty(f"{where}.resources.{kind}.{k}", v)
        for i, m in enumerate(c.get("volumeMounts", [])):
            w = f"{where}.volumeMounts[{i}]"
            if not self.fields(w, m, {"name", "mountPath", "readOnly", "mountPropagation", "subPath"}):
                continue
            if m.get("name") not in volumes:
                self.bad(w, f"volume {m.get('name')!r} is not in spec.volumes")
            if not str(m.get("mountPath", "")).startswith("/"):
                self.bad(w, "mountPath: required absolute path")
            if m.get("mountPropagation", "None") not in ("None", "HostToContainer", "Bidirectional"):
                self.bad(w, f"mountPropagation {m['mountPropagation']!r}")

    def pod_spec(self, where, spec, runtime_classes):
        if not self.fields(where, spec, POD_SPEC):
            return
        volumes = set()
        for i, v in enumerate(spec.get("volumes", [])):
            w = f"{where}.volumes[{i}]"
            if self.fields(w, v, {"name", "hostPath", "emptyDir", "configMap", "secret"}):
                volumes.add(v.get("name"))
                hp = v.get("hostPath")
                if hp is not None and self.fields(f"{w}.hostPath", hp, {"path", "type"}):
                    if not str(hp.get("path", "")).startswith("/"):
                        self.bad(f"{w}.hostPath", "path: required absolute path")
                    if hp.get("type", "") not in ("", "DirectoryOrCreate", "Directory", "FileOrCreate", "File",
                                                  "Socket", "CharDevice", "BlockDevice"):
                        self.bad(f"{w}.hostPath", f"type {hp['type']!r}")
        cs = spec.get("containers")
        if not isinstance(cs, list) or not cs:
            self.bad(where, "containers: required non-empty list")
            cs = []
        for i, c in enumerate(cs):
            self.container(f"{where}.containers[{i}]", c, volumes)
        rc = spec.get("runtimeClassName")
        if rc is not None and rc not in runtime_classes:
            self.bad(where, f"runtimeClassName {rc!r}: no RuntimeClass of that name here")
        if "terminationGracePeriodSeconds" in spec and not isinstance(spec["terminationGracePeriodSeconds"], int):
            self.bad(where, "terminationGracePeriodSeconds: must be an integer")

    def metadata(self, where, meta, kind):
        if not self.fields(where, meta, META):
            return
        name = meta.get("name")
        if not isinstance(name, str) or not DNS_SUB.match(name):
            self.bad(where, f"name {name!r}: required DNS subdomain")
        for f in ("labels", "annotations"):
            if f in meta and not (isinstance(meta[f], dict) and all(isinstance(v, str) for v in meta[f].values())):
                self.bad(where, f"{f}: values must be strings")

    def document(self, where, d, runtime_classes):
        kind = d.get("kind")
        if kind not in KINDS:
            self.bad(where, f"kind {kind!r} is not one of {sorted(KINDS)}")
            return
        if d.get("apiVersion") != KINDS[kind]:
            self.bad(where, f"{kind}: apiVersion {d.get('apiVersion')!r}, want {KINDS[kind]!r}")
        self.fields(where, d, {"apiVersion", "kind", "metadata"} | TOP[kind])
        self.metadata(f"{where}.metadata", d.get("metadata"), kind)
        for path in REQUIRED[kind]:
            o = d
            for p in path.split("."):
                o = o.get(p) if isinstance(o, dict) else None
            if o in (None, [], {}):
                self.bad(where, f"{path}: required")
        if kind == "RuntimeClass":
            if not isinstance(d.get("handler"), str) or not DNS_LABEL.match(d["handler"]):
                self.bad(where, "handler: required DNS label")
        elif kind == "Pod":
            self.pod_spec(f"{where}.spec", d.get("spec", {}), runtime_classes)
        elif kind == "DaemonSet":
            spec = d.get("spec", {})
            if not self.fields(f"{where}.spec", spec, DS_SPEC):
                return
            tmpl = spec.get("template", {})
            labels = (tmpl.get("metadata") or {}).get("labels", {})
            for k, v in ((spec.get("selector") or {}).get("matchLabels") or {}).items():
                if labels.get(k) != v:
                    self.bad(f"{where}.spec.selector", f"matchLabels {k}={v} does not match the template's labels")
            us = spec.get("updateStrategy", {})
            if us.get("type", "RollingUpdate") not in ("RollingUpdate", "OnDelete"):
                self.bad(f"{where}.spec.updateStrategy", f"type {us['type']!r}")
            ru = us.get("rollingUpdate", {})
            if self.fields(f"{where}.spec.updateStrategy.rollingUpdate", ru, {"maxUnavailable", "maxSurge"}):
                if ru.get("maxUnavailable", 1) in (0, "0%") and ru.get("maxSurge", 0) in (0, "0%"):
                    self.bad(f"{where}.spec.updateStrategy.rollingUpdate", "maxUnavailable and maxSurge both 0")
            self.pod_spec(f"{where}.spec.template.spec", tmpl.get("spec", {}), runtime_classes)

    def toml(self, path, handlers):
        try:
            with open(path, "rb") as f:
                cfg = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as e:
            self.bad(path, f"TOML: {e}")
            return
        if cfg.get("version") != 2:
            self.bad(path, "version = 2 expected")
        runtimes = cfg.get("plugins", {}).get(CRI, {}).get("containerd", {}).get("runtimes", {})
        for h in handlers:
            r = runtimes.get(h)
            if r is None:
                self.bad(path, f"no runtime handler {h!r} (RuntimeClass handler)")
                continue
            if r.get("runtime_type") != "io.containerd.runc.v2":
                self.bad(path, f"{h}: runtime_type must be io.containerd.runc.v2")
            if not str(r.get("options", {}).get("BinaryName", "")).startswith("/"):
                self.bad(path, f"{h}: options.BinaryName: required absolute path")
            for k in ("pod_annotations", "container_annotations"):
                if "run.cell.*" not in r.get(k, []):
                    self.bad(path, f"{h}: {k} should pass run.cell.*")


def main(argv):
    if len(argv) != 2:
        print("usage: check.py DIR", file=sys.stderr)
        return 2
    c = Checker()
    docs = []
    for path in sorted(glob.glob(os.path.join(argv[1], "*.yaml"))):
        try:
            with open(path) as f:
                for i, d in enumerate(yaml.safe_load_all(f)):
                    if d is not None:
                        docs.append((f"{os.path.basename(path)}#{i}", d))
        except yaml.YAMLError as e:
            c.bad(path, f"YAML: {e}")
    rcs = {d.get("metadata", {}).get("name"): d.get("handler") for _, d in docs
           if isinstance(d, dict) and d.get("kind") == "RuntimeClass"}
    for where, d in docs:
        if not isinstance(d, dict):
            c.bad(where, "a document must be a mapping")
            continue
        c.document(where, d, rcs)
    tomls = sorted(glob.glob(os.path.join(argv[1], "*.toml")))
    for path in tomls:
        c.toml(path, [h for h in rcs.values() if isinstance(h, str)])
    if rcs and not tomls:
        c.bad(argv[1], "RuntimeClasses but no containerd *.toml registering their handlers")
    for p in c.problems:
        print(p)
    print(f"{len(docs)} documents, {len(tomls)} toml files, {len(c.problems)} problems")
    return 1 if c.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
