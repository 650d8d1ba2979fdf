#!/usr/bin/env python3
"""notify-listen.py SOCKET OUT [SECONDS] - a NOTIFY_SOCKET receiver for the
envspec tests: binds a unix datagram socket at SOCKET (mode 0666, so an
environment's unprivileged root can send), appends every message to OUT (one
line per field), and exits 0 after READY=1, 1 after SECONDS (default 120)."""
import os, socket, sys, time

path, out = sys.argv[1], sys.argv[2]
limit = float(sys.argv[3]) if len(sys.argv) > 3 else 120.0
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
end = time.monotonic() + limit
with open(out, "a") as f:
    f.write("listening\n")
    f.flush()
    while time.monotonic() < end:
        s.settimeout(max(0.1, end - time.monotonic()))
        try:
            msg = s.recv(65536).decode(errors="replace")
        except socket.timeout:
            break
        f.write(msg.rstrip("\n") + "\n")
        f.flush()
        if "READY=1" in msg.split("\n"):
            sys.exit(0)
sys.exit(1)
