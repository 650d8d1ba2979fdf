#!/usr/bin/env python3
"""mkimage.py [--multiarch] OUT.tar LAYERDIR... : an oci-archive (OCI image
layout in a tar) with one gzip layer per LAYERDIR (its tree, owned by root), a
config with the layers' diff_ids, and a manifest; offline, from the standard
library.  Prints the manifest's digest.  --multiarch: the layout's index is an
image index with this machine's manifest between two of other platforms
(s390x with its own small layer, and an unknown/unknown attestation-like
entry); it prints the index's digest, then this platform's manifest digest."""
import gzip, hashlib, io, json, os, sys, tarfile

args = sys.argv[1:]
multi = args[0] == "--multiarch"
if multi:
    args = args[1:]
out, layer_dirs = args[0], args[1:]
blobs = {}


def add_blob(data):
    d = hashlib.sha256(data).hexdigest()
    blobs[d] = data
    return "sha256:" + d


def layer_tar(root):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames) + sorted(filenames):
                full = os.path.join(dirpath, name)
                ti = t.gettarinfo(full, os.path.relpath(full, root))
                ti.uid = ti.gid = 0
                ti.uname = ti.gname = "root"
                ti.mtime = 0
                if ti.isreg():
                    with open(full, "rb") as f:
                        t.addfile(ti, f)
                else:
                    t.addfile(ti)
    return buf.getvalue()


def image(dirs, arch, extra=b""):
    layers, diff_ids = [], []
    for d in dirs:
        raw = layer_tar(d) if isinstance(d, str) else d
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        gz = gzip.compress(raw, compresslevel=1, mtime=0)
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": add_blob(gz),
                       "size": len(gz)})
    config = json.dumps({"architecture": arch, "os": "linux", "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    cdesc = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": add_blob(config), "size": len(config)}
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": cdesc, "layers": layers}).encode()
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": add_blob(manifest),
            "size": len(manifest), "platform": {"architecture": arch, "os": "linux"}}


def foreign_layer(text):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        ti = tarfile.TarInfo("etc/platform")
        ti.size = len(text)
        t.addfile(ti, io.BytesIO(text))
    return buf.getvalue()


arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
mdesc = image(layer_dirs, arch)
if multi:
    other = "s390x" if arch != "s390x" else "ppc64le"
    odesc = image([foreign_layer(other.encode())], other)
    udesc = dict(image([foreign_layer(b"unknown")], "unknown"))
    udesc["platform"] = {"architecture": "unknown", "os": "unknown"}
    idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                      "manifests": [odesc, udesc, mdesc]}).encode()
    idesc = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": add_blob(idx), "size": len(idx)}
    index = json.dumps({"schemaVersion": 2, "manifests": [idesc]}).encode()
    print(idesc["digest"])
else:
    index = json.dumps({"schemaVersion": 2, "manifests": [mdesc]}).encode()
with tarfile.open(out, "w") as t:
    def put(name, data):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    put("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    put("index.json", index)
    for d, data in blobs.items():
        put("blobs/sha256/" + d, data)
print(mdesc["digest"])
