#!/usr/bin/python3
"""A small CRI (runtime.v1) client for tests/engines/cri.bats.

    cri.py SOCKET METHOD [REQUEST_JSON]     one RuntimeService call
    cri.py SOCKET latency N POD_JSON CTR_JSON HANDLER...
                                            N rounds of RunPodSandbox ..
                                            container running, the handlers
                                            interleaved; prints the times (ms)

REQUEST_JSON (or stdin when it is absent or "-") is the request message in
protobuf's JSON mapping with the proto field names; the response is printed
the same way, with default values included.  ExecSync's stdout/stderr are
printed as text instead of base64.  A gRPC error prints "CODE: details" on
stderr and exits 3.

The messages come from cri.proto beside this file, compiled with protoc
(protobuf-compiler) into $CRI_PROTO_CACHE (default build/cache/cri-proto-HASH,
keyed by the proto's sha256); the service stubs are built here from the
method names, so grpc_tools is not needed.
"""
import hashlib
import importlib
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
PROTO = os.path.join(HERE, "cri.proto")


def load_pb2():
    with open(PROTO, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    cache = os.environ.get("CRI_PROTO_CACHE") or os.path.join(TOP, "build", "cache", "cri-proto-" + digest)
    mod = os.path.join(cache, "cri_pb2.py")
    if not os.path.exists(mod):
        os.makedirs(cache, exist_ok=True)
        tmp = cache + "/.tmp-%d" % os.getpid()
        os.makedirs(tmp)
        subprocess.run(["protoc", "-I", HERE, "--python_out=" + tmp, PROTO], check=True)
        os.rename(os.path.join(tmp, "cri_pb2.py"), mod)
        os.rmdir(tmp)
    sys.path.insert(0, cache)
    return importlib.import_module("cri_pb2")


pb2 = load_pb2()
import grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402

SERVICE = pb2.DESCRIPTOR.services_by_name["RuntimeService"]


class Client:
    def __init__(self, sock):
        self.channel = grpc.insecure_channel("unix://" + sock)

    def call(self, method, req, timeout=120):
        m = SERVICE.methods_by_name[method]
        req_cls = getattr(pb2, m.input_type.name)
        resp_cls = getattr(pb2, m.output_type.name)
        if isinstance(req, dict):
            req = json_format.ParseDict(req, req_cls())
        fn = self.channel.unary_unary("/runtime.v1.RuntimeService/" + method,
                                      request_serializer=req_cls.SerializeToString,
                                      response_deserializer=resp_cls.FromString)
        return fn(req, timeout=timeout)


def to_json(resp):
    d = json_format.MessageToDict(resp, preserving_proto_field_name=True,
                                  including_default_value_fields=True)
    if isinstance(resp, pb2.ExecSyncResponse):
        d["stdout"] = resp.stdout.decode(errors="replace")
        d["stderr"] = resp.stderr.decode(errors="replace")
    return d


def latency(cli, handler, i, pod, ctr):
    """RunPodSandbox -> CreateContainer -> StartContainer -> RUNNING, in ms;
    the pod is stopped and removed after the measurement."""
    p = json.loads(json.dumps(pod))
    p["metadata"]["name"] += "-%s-%d" % (handler, i)
    p["metadata"]["uid"] += "-%s-%d" % (handler, i)
    if True:
        t0 = time.monotonic()
        sid = cli.call("RunPodSandbox", {"config": p, "runtime_handler": handler}).pod_sandbox_id
        cid = cli.call("CreateContainer", {"pod_sandbox_id": sid, "config": ctr, "sandbox_config": p}).container_id
        cli.call("StartContainer", {"container_id": cid})
        while cli.call("ContainerStatus", {"container_id": cid}).status.state != pb2.CONTAINER_RUNNING:
            time.sleep(0.005)
        ms = (time.monotonic() - t0) * 1000
        cli.call("StopPodSandbox", {"pod_sandbox_id": sid})
        cli.call("RemovePodSandbox", {"pod_sandbox_id": sid})
    return ms


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    cli = Client(argv[1])
    try:
        if argv[2] == "latency":
            n, pod, ctr, handlers = int(argv[3]), json.loads(argv[4]), json.loads(argv[5]), argv[6:]
            times = {h: [] for h in handlers}
            for i in range(n):
                for h in (handlers if i % 2 == 0 else handlers[::-1]):
                    times[h].append(latency(cli, h, i, pod, ctr))
            print(json.dumps(times))
            return 0
        raw = argv[3] if len(argv) > 3 and argv[3] != "-" else sys.stdin.read()
        req = json.loads(raw) if raw.strip() else {}
        print(json.dumps(to_json(cli.call(argv[2], req)), indent=1, sort_keys=True))
        return 0
    except grpc.RpcError as e:
        sys.stderr.write("%s: %s\n" % (e.code().name, e.details()))
        return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
