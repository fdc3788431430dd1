#!/usr/bin/env python3
"""tcp_hold.py ADDR PORT DIR: a listener for long-lived TCP connections.

For each connection from a peer address P it counts the lines received and
keeps DIR/P in the form "LINES open" (or "LINES closed <why>" once the
connection ends).  A test checks that a connection through a tunnel
survives an outage: the file must stay "open" and the count keep growing.
"""
import os
import socket
import sys
import threading


def serve(conn, peer, out_dir):
    path = os.path.join(out_dir, peer)
    lines = 0

    def put(state):
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d %s\n" % (lines, state))
        os.replace(tmp, path)

    put("open")
    why = "eof"
    try:
        buf = b""
        while True:
            data = conn.recv(4096)
            if not data:
                break
            buf += data
            n = buf.count(b"\n")
            if n:
                lines += n
                buf = buf[buf.rfind(b"\n") + 1:]
                put("open")
    except OSError as e:
        why = e.__class__.__name__
    put("closed " + why)
    conn.close()


def main():
    addr, port, out_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(64)
    while True:
        conn, peer = s.accept()
        threading.Thread(target=serve, args=(conn, peer[0], out_dir), daemon=True).start()


main()
