#!/usr/bin/env python3
"""peer.py - the tests' server and client for forwards.

  peer.py serve tcp|udp ADDR PORT LOG   serve forever: each TCP connection or UDP
                                        datagram appends the peer's address to LOG
                                        and gets "peer=ADDR" back
  peer.py ask tcp|udp HOST PORT [SRC]   one request; prints the reply; exit 1 on timeout
"""
import socket
import sys


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def plain(addr):
    return addr[7:] if addr.startswith("::ffff:") else addr


def serve(proto, addr, port, log):
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(family(addr), kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    if proto == "tcp":
        s.listen(16)
    print("listening", flush=True)
    while True:
        if proto == "tcp":
            c, peer = s.accept()
            c.settimeout(3)
            try:
                c.recv(100)
                with open(log, "a") as f:
                    f.write(plain(peer[0]) + "\n")
                c.sendall(("peer=%s\n" % plain(peer[0])).encode())
            except OSError:
                pass
            c.close()
        else:
            data, peer = s.recvfrom(100)
            with open(log, "a") as f:
                f.write(plain(peer[0]) + "\n")
            s.sendto(("peer=%s\n" % plain(peer[0])).encode(), peer)


def ask(proto, host, port, src=None):
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(family(host), kind)
    s.settimeout(3)
    if src:
        s.bind((src, 0))
    try:
        if proto == "tcp":
            s.connect((host, port))
            s.sendall(b"hello\n")
            print(s.recv(100).decode().strip())
        else:
            s.sendto(b"hello\n", (host, port))
            print(s.recvfrom(100)[0].decode().strip())
    except OSError as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        ask(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else None)
