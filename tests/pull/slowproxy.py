#!/usr/bin/env python3
"""slowproxy.py PORT UPSTREAM_PORT RATE LOG: a TCP forwarder on 127.0.0.1:PORT
to 127.0.0.1:UPSTREAM_PORT that sends the upstream's answers at RATE bytes per
second and appends, per connection, the number of bytes it sent downstream to
LOG when the connection ends (the resume test's server-side byte count)."""
import socket, sys, threading, time

port, up, rate, log_path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
lock = threading.Lock()


def pump(src, dst, throttle, counter):
    chunk = 16384
    try:
        while True:
            data = src.recv(chunk)
            if not data:
                break
            dst.sendall(data)
            counter[0] += len(data)
            if throttle:
                time.sleep(len(data) / rate)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(client):
    upstream = socket.create_connection(("127.0.0.1", up))
    down = [0]
    t = threading.Thread(target=pump, args=(client, upstream, False, [0]), daemon=True)
    t.start()
    pump(upstream, client, True, down)
    t.join()
    client.close()
    upstream.close()
    with lock, open(log_path, "a") as f:
        f.write("%d\n" % down[0])


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(16)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
