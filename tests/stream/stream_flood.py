#!/usr/bin/env python3
"""stream_flood.py - hold many hostile connections open to a stream listener.

    stream_flood.py HOST PORT COUNT HOLD_S [SRC_ADDR ...]

Opens COUNT TCP connections to HOST:PORT (round robin over the SRC_ADDRs,
if given), each doing one of the things a hub must not keep forever:

    idle     connects and sends nothing
    partial  a header announcing 65535 bytes, then 60000 of them, then stalls
    header   a frame header only, then stalls
    zero     one zero-length frame (valid CRC), then stalls

then holds them for HOLD_S seconds (or until every one was closed by the
other side) and prints, on stdout, one line of key=value figures:
opened, refused (connect failed), closed_by_peer (EOF/reset seen), still_open.
Bounded: COUNT <= 10000, HOLD_S <= 120.  Loopback / test namespaces only.
"""
import errno
import os
import resource
import select
import socket
import struct
import sys
import time
import zlib

MODES = ("idle", "partial", "header", "zero")


def frame_header(length, crc):
    return struct.pack("<HI", length, crc)


def main():
    host, port, count, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    srcs = sys.argv[5:]
    if not (0 < count <= 10000 and 0 < hold <= 120):
        sys.exit("count must be 1..10000, hold 1..120 s")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 256), hard))
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    socks, refused = [], 0
    for i in range(count):
        s = socket.socket(fam, socket.SOCK_STREAM)
        try:
            if srcs:
                s.bind((srcs[i % len(srcs)], 0))
            s.settimeout(5)
            s.connect((host, port))
            mode = MODES[i % len(MODES)]
            if mode == "partial":
                s.sendall(frame_header(65535, 0) + b"\0" * 60000)
            elif mode == "header":
                s.sendall(frame_header(1000, 0))
            elif mode == "zero":
                s.sendall(frame_header(0, zlib.crc32(b"")))
            s.setblocking(False)
            socks.append(s)
        except OSError:
            refused += 1
            s.close()
    opened = len(socks)
    print(f"# {opened} open, holding up to {hold:.0f} s", file=sys.stderr, flush=True)
    closed = set()
    end = time.monotonic() + hold
    poller = select.poll()
    for s in socks:
        poller.register(s, select.POLLIN | select.POLLHUP | select.POLLERR)
    by_fd = {s.fileno(): s for s in socks}
    while len(closed) < opened and time.monotonic() < end:
        for fd, ev in poller.poll(500):
            s = by_fd[fd]
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                closed.add(fd)
                poller.unregister(fd)
    for s in socks:
        s.close()
    print(f"opened={opened} refused={refused} closed_by_peer={len(closed)} "
          f"still_open={opened - len(closed)}", flush=True)


if __name__ == "__main__":
    main()
