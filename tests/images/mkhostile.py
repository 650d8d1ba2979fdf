#!/usr/bin/env python3
"""mkhostile.py OUTDIR - the hostile-archive corpus of tests/bats/images.bats.

Each case is OUTDIR/NAME: a plain rootfs tarball (NAME.tar / .tar.gz), an OCI image layout directory
(NAME/), an oci-archive or a docker-archive (NAME.tar).  Escapes aim at the file name 'himg-pwned' (and
OUTDIR/../outside/): the test checks none appears.  Built at test time, never committed."""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

OUT = sys.argv[1]
PWN = "himg-pwned"
UP = "../" * 12


def ti(name, typ=tarfile.REGTYPE, data=b"", linkname="", mode=0o644, devmajor=0, devminor=0, size=None, pax=None):
    t = tarfile.TarInfo(name)
    t.type = typ
    t.mode = mode
    t.linkname = linkname
    t.devmajor, t.devminor = devmajor, devminor
    t.size = len(data) if size is None else size
    t.mtime = 1700000000
    if pax:
        t.pax_headers = pax
    return (t, data)


def tar_bytes(entries, fmt=tarfile.PAX_FORMAT):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=fmt) as tf:
        for t, data in entries:
            tf.addfile(t, io.BytesIO(data) if t.isreg() else None)
    return b.getvalue()


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def rootfs(name, entries, gz=False):
    data = tar_bytes(entries)
    if gz:
        data = gzip.compress(data, mtime=0)
    write(os.path.join(OUT, name + (".tar.gz" if gz else ".tar")), data)


def zstd(data):
    return subprocess.run(["zstd", "-q", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout


def oci(name, layers, mutate=None, as_tar=False):
    """layers: list of (tar entries | raw bytes, mediaType, compress 'gzip'/'zstd'/None)."""
    blobs = {}
    descs, diff_ids = [], []
    for entries, mt, comp in layers:
        raw = entries if isinstance(entries, bytes) else tar_bytes(entries)
        diff_ids.append(sha(raw))
        blob = gzip.compress(raw, mtime=0) if comp == "gzip" else zstd(raw) if comp == "zstd" else raw
        blobs[sha(blob)] = blob
        if mt is None:  # the mediaType that matches the content
            mt = OCI_TAR + ("+" + comp if comp else "")
        descs.append({"mediaType": mt, "digest": sha(blob), "size": len(blob)})
    config = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json"}, "layers": descs}
    index = {"schemaVersion": 2, "manifests": []}
    st = {"blobs": blobs, "config": config, "manifest": manifest, "index": index}
    if mutate:
        mutate(st, "pre")
    cb = json.dumps(st["config"]).encode()
    st["manifest"]["config"].update({"digest": sha(cb), "size": len(cb)})
    blobs[sha(cb)] = cb
    mb = json.dumps(st["manifest"]).encode()
    blobs[sha(mb)] = mb
    st["index"]["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                     "digest": sha(mb), "size": len(mb),
                                     "annotations": {"org.opencontainers.image.ref.name": "himg/hostile:" + name}})
    st["cfg_digest"], st["man_digest"] = sha(cb), sha(mb)
    if mutate:
        mutate(st, "post")
    files = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": json.dumps(st["index"]).encode()}
    for d, b in st["blobs"].items():
        files["blobs/sha256/" + d[7:]] = b
    if as_tar:
        write(os.path.join(OUT, name + ".tar"), tar_bytes([ti(p, data=b) for p, b in files.items()]))
    else:
        for p, b in files.items():
            full = os.path.join(OUT, name, p)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            write(full, b)


OCI_TAR = "application/vnd.oci.image.layer.v1.tar"
F = lambda n, d=b"x": ti(n, data=d)  # noqa: E731
D = lambda n: ti(n, tarfile.DIRTYPE, mode=0o755)  # noqa: E731
L = lambda n, t: ti(n, tarfile.SYMTYPE, linkname=t)  # noqa: E731
H = lambda n, t: ti(n, tarfile.LNKTYPE, linkname=t)  # noqa: E731


def main():
    os.makedirs(OUT, exist_ok=True)
    # --- traversal, absolute paths
    rootfs("dotdot", [D("etc/"), F(UP + "tmp/" + PWN)])
    rootfs("dotdot_mid", [D("a/"), F("a/../../../../../../../../../../tmp/" + PWN)])
    rootfs("absolute", [F("/tmp/" + PWN)])
    rootfs("dotdot_gz", [F(UP + PWN)], gz=True)
    # --- symlinks then a file through them (same layer)
    rootfs("symlink_abs_then_file", [L("l", "/tmp"), F("l/" + PWN)])
    rootfs("symlink_rel_then_file", [L("l", UP + "tmp"), F("l/" + PWN)])
    rootfs("symlink_nested_then_file", [D("a/"), L("a/l", "/"), F("a/l/tmp/" + PWN)])
    rootfs("dir_replaced_by_symlink", [D("d/"), L("d", "/tmp"), F("d/" + PWN)])
    rootfs("symlink_then_dir", [L("l", "/tmp"), D("l/" + PWN + "/")])
    # --- symlink loops
    rootfs("symlink_loop", [L("a", "b"), L("b", "a"), F("a/" + PWN)])
    rootfs("symlink_self_loop", [L("a", "a"), F("a/x")])
    # --- hardlinks out of the root
    rootfs("hardlink_abs", [H("h", "/etc/passwd")])
    rootfs("hardlink_dotdot", [H("h", UP + "etc/passwd")])
    rootfs("hardlink_via_symlink", [L("l", "/etc"), H("h", "l/passwd")])
    rootfs("hardlink_missing", [H("h", "etc/no-such-file")])
    rootfs("hardlink_to_dir", [D("d/"), H("h", "d")])
    # --- whiteouts
    rootfs("whiteout_in_rootfs", [D("etc/"), F("etc/.wh.passwd", b"")])
    oci("whiteout_root", [([D("a/"), F(".wh.", b"")], OCI_TAR, None)])
    oci("whiteout_dotdot", [([F("a/.wh...", b"")], OCI_TAR, None)])
    oci("whiteout_dot", [([D("a/"), F("a/.wh..", b"")], OCI_TAR, None)])
    # --- across layers (OCI, two layers)
    oci("symlink_across_layers", [([L("l", "/tmp")], OCI_TAR, None), ([F("l/" + PWN)], OCI_TAR, None)])
    oci("symlink_dir_across_layers", [([L("d", "/")], OCI_TAR, None), ([F("d/tmp/" + PWN)], None, "gzip")])
    oci("whiteout_across_symlink", [([L("l", "/etc")], OCI_TAR, None), ([F("l/.wh.passwd", b"")], OCI_TAR, None)])
    oci("hardlink_across_layers", [([F("f")], OCI_TAR, None), ([H("h", "f")], OCI_TAR, None)])
    # --- devices (refused for a store that is not root's: the test runs these as nobody)
    rootfs("device_char", [D("dev/"), ti("dev/mem", tarfile.CHRTYPE, devmajor=1, devminor=1)])
    rootfs("device_block", [D("dev/"), ti("dev/sda", tarfile.BLKTYPE, devmajor=8, devminor=0)])
    # --- huge headers, sizes, names
    rootfs("huge_pax_path", [F("a/" * 3000 + "x")])
    rootfs("huge_component", [F("d" * 300)])
    big = tar_bytes([ti("big", size=0)])
    hdr = bytearray(big[:512])
    hdr[124:136] = b"\x80" + (1 << 40).to_bytes(11, "big")  # 1 TiB declared (base-256), no data follows
    hdr[148:156] = b"        "
    hdr[148:156] = b"%06o\0 " % sum(hdr)
    write(os.path.join(OUT, "huge_size.tar"), bytes(hdr) + b"\0" * 1024)
    rootfs("huge_pax_record", [ti("x", data=b"x", pax={"comment": "A" * (3 << 20)})])
    # --- truncated streams
    full = gzip.compress(tar_bytes([F("bin/big", os.urandom(256 << 10))]), mtime=0)
    write(os.path.join(OUT, "truncated_gzip.tar.gz"), full[: len(full) // 2])
    plain = tar_bytes([F("bin/big", b"y" * (256 << 10))])
    write(os.path.join(OUT, "truncated_tar.tar"), plain[:70000])

    # --- blob verification (OCI)
    def bad_digest(st, phase):
        if phase == "post":
            d = st["manifest"]["layers"][0]["digest"]
            st["blobs"][d] = st["blobs"][d][:-1] + b"!"

    oci("wrong_blob_digest", [([F("etc/hello")], OCI_TAR, None)], bad_digest)

    def bad_diff(st, phase):
        if phase == "pre":
            st["config"]["rootfs"]["diff_ids"][0] = "sha256:" + "0" * 64

    oci("wrong_diff_id", [([F("etc/hello")], None, "gzip")], bad_diff)

    def bad_size(st, phase):
        if phase == "pre":
            st["manifest"]["layers"][0]["size"] -= 1

    oci("wrong_size", [([F("etc/hello")], OCI_TAR, None)], bad_size)

    def diff_count(st, phase):
        if phase == "pre":
            st["config"]["rootfs"]["diff_ids"].append("sha256:" + "1" * 64)

    oci("diff_id_count", [([F("etc/hello")], OCI_TAR, None)], diff_count)

    def no_config(st, phase):
        if phase == "post":
            del st["blobs"][st["cfg_digest"]]

    oci("config_missing", [([F("etc/hello")], OCI_TAR, None)], no_config)

    def bad_index_digest(st, phase):
        if phase == "post":
            st["index"]["manifests"][0]["digest"] = "sha256:../../../etc/passwd"

    oci("index_digest_traversal", [([F("etc/hello")], OCI_TAR, None)], bad_index_digest)
    # --- mediaType confusion
    oci("mediatype_gzip_is_plain", [([F("etc/hello")], OCI_TAR + "+gzip", None)])
    oci("mediatype_plain_is_zstd", [([F("etc/hello")], OCI_TAR, "zstd")])
    oci("mediatype_zstd_is_gzip", [([F("etc/hello")], OCI_TAR + "+zstd", "gzip")])
    oci("mediatype_bzip2", [([F("etc/hello")], OCI_TAR + "+bzip2", None)])
    oci("mediatype_config_as_layer", [([F("etc/hello")], "application/vnd.oci.image.config.v1+json", None)])
    xz = subprocess.run(["xz", "-c"], input=tar_bytes([F("etc/hello")]), stdout=subprocess.PIPE, check=True).stdout
    oci("layer_xz", [(xz, OCI_TAR, None)])
    oci("layer_not_tar", [(b"this is not a tar archive at all" * 40, OCI_TAR, None)])
    # --- archives around the image
    oci("ociarchive_traversal_layer", [([F(UP + PWN)], None, "gzip")], as_tar=True)
    write(os.path.join(OUT, "ociarchive_outer_traversal.tar"),
          tar_bytes([F("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), F(UP + "tmp/" + PWN)]))
    dm = [{"Config": "c.json", "RepoTags": ["himg/x:1"], "Layers": ["../../../../etc/passwd"]}]
    write(os.path.join(OUT, "docker_layer_traversal.tar"),
          tar_bytes([F("manifest.json", json.dumps(dm).encode()), F("c.json", b"{}")]))
    layer = tar_bytes([F("etc/hello")])
    cfg = json.dumps({"rootfs": {"type": "layers", "diff_ids": [sha(layer)]}}).encode()
    dm = [{"Config": "c.json", "RepoTags": ["himg/x:1"], "Layers": ["l/layer.tar"]}]
    write(os.path.join(OUT, "docker_layer_symlink_out.tar"),
          tar_bytes([F("manifest.json", json.dumps(dm).encode()), F("c.json", cfg), D("l/"),
                     L("l/layer.tar", "/etc/passwd")]))
    write(os.path.join(OUT, "docker_bad_json.tar"),
          tar_bytes([F("manifest.json", b'[{"Config": 42, "Layers": "x"'), F("c.json", cfg)]))

    # --- well-formed inputs (positive checks of the same suite)
    cap = bytes.fromhex("0100000200200000000000000000000000000000").decode("utf-8", "surrogateescape")
    rootfs("good_rootfs", [
        D("etc/"), F("etc/f", b"file"), H("etc/hl", "etc/f"), L("up", UP + "etc"), F("dup", b"one"), F("dup", b"two"),
        ti("etc/cap", data=b"c", pax={"SCHILY.xattr.security.capability": cap, "SCHILY.xattr.user.himg": "hello"}),
        ti("ovl/", tarfile.DIRTYPE, mode=0o755, pax={"SCHILY.xattr.trusted.overlay.opaque": "y"}),
        ti("suid", data=b"s", mode=0o4755), ti("fifo", tarfile.FIFOTYPE)], gz=True)
    oci("good_layers", [([D("etc/"), F("etc/a"), F("etc/b"), D("d/"), F("d/x"), F("d/y")], None, "gzip"),
                        ([F("etc/.wh.a", b""), D("d/"), F("d/.wh..wh..opq", b""), F("d/z")], None, "zstd")])


main()
