#!/usr/bin/env python3
"""Bad-packet sender for tests/netns/test_bad_packets.sh (stdlib only).

  badpkt.py capture IFACE PORT[,PORT...] SECONDS OUT
      Records the UDP payloads sent to a PORT through IFACE (AF_PACKET) for
      SECONDS, one hex line each, into OUT: real WireGuard messages to replay
      and mutate.
  badpkt.py send CAPTURED HOST4 HOST6 PORT
      Sends, from two fresh UDP sockets (IPv4 and IPv6), to the device:
        slow phase (paced): exact replays of every captured message, the
          captured handshake messages with mac2 flipped (mac1 still valid);
        flood phase: every truncation of every captured message, one flipped
          bit per byte, random datagrams of random length, datagrams with a
          valid-looking header (type 1..4, zero reserved bytes) at and around
          each message size, transport messages with a captured receiver
          index and garbage after it, 0 and 65507 bytes, unknown types.
      Then listens: any datagram that comes back is a failure (an
      unauthenticated packet must never be answered; cookie replies only
      answer a valid mac1 under load, and nothing here is sent under load
      with a valid mac1).  Exit 0 if nothing came back, 1 otherwise.
  badpkt.py flood SRC HOST PORT SECONDS RATE READYFILE
      Handshake initiations with a bad mac1 at RATE per second from address
      SRC: load that puts a device into its under-load (cookie) mode.
"""
import os
import random
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003


def capture(iface, port, seconds, out):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    open(out + ".ready", "w").close()
    ports = [int(p) for p in port.split(",")]
    end = time.time() + float(seconds)
    got = []
    while time.time() < end:
        r, _, _ = select.select([s], [], [], 0.05)
        if not r:
            continue
        pkt, _ = s.recvfrom(70000)
        if not pkt:
            continue
        ver = pkt[0] >> 4
        if ver == 4 and len(pkt) >= 28 and pkt[9] == 17:
            off = (pkt[0] & 15) * 4
        elif ver == 6 and len(pkt) >= 48 and pkt[6] == 17:
            off = 40
        else:
            continue
        if len(pkt) < off + 8:
            continue
        dport = struct.unpack("!H", pkt[off + 2:off + 4])[0]
        if dport not in ports:
            continue
        payload = pkt[off + 8:]
        if payload.hex() not in got:
            got.append(payload.hex())
    with open(out, "w") as f:
        for h in got:
            f.write(h + "\n")
    print("captured %d distinct messages: %s" % (
        len(got), ", ".join("type %d/%dB" % (int(h[:2], 16), len(h) // 2) for h in got)))


def flip(b, i, bit=0):
    b = bytearray(b)
    b[i] ^= 1 << bit
    return bytes(b)


def send(captured, host4, host6, port):
    port = int(port)
    rnd = random.Random(int.from_bytes(os.urandom(8), "little"))
    msgs = [bytes.fromhex(line.strip()) for line in open(captured) if line.strip()]
    socks = []
    for fam, host in ((socket.AF_INET, host4), (socket.AF_INET6, host6)):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        s.setblocking(False)
        socks.append((s, (host, port)))
    sent = [0]
    replies = []

    def drain():
        for s, _ in socks:
            while True:
                try:
                    data, src = s.recvfrom(70000)
                except (BlockingIOError, InterruptedError):
                    break
                replies.append((src, data))

    def tx(data, pace=0.0):
        for s, dst in socks:
            for _ in range(50):
                try:
                    s.sendto(data, dst)
                    sent[0] += 1
                    break
                except (BlockingIOError, InterruptedError):
                    select.select([], [s], [], 0.01)
                except OSError as e:   # EMSGSIZE for 65507 on v6 is fine
                    if e.errno != 90:
                        raise
                    break
        if pace:
            time.sleep(pace)
        drain()

    # --- slow phase: things a correct device drops for reasons beyond mac1
    for m in msgs:
        tx(m, 0.01)
    for m in msgs:
        if (m[0] == 1 and len(m) == 148) or (m[0] == 2 and len(m) == 92):
            for i in range(len(m) - 16, len(m)):
                tx(flip(m, i), 0.005)
    time.sleep(1.0)
    drain()
    slow = len(replies)

    # --- flood phase
    for m in msgs:
        for n in range(len(m)):
            tx(m[:n])
        # Flips in a handshake message's mac2 leave mac1 valid: those went in
        # the slow phase, since under load they rightly earn a cookie reply.
        keep_mac1 = len(m) - 16 if m[0] in (1, 2) else len(m)
        for i in range(keep_mac1):
            tx(flip(m, i, rnd.randrange(8)))
        tx(m + b"\0")
        tx(m + os.urandom(rnd.randrange(1, 64)))
    idx = [m[4:8] for m in msgs if m[0] == 4 and len(m) >= 32]
    for _ in range(300):
        tx(os.urandom(rnd.randrange(0, 1600)))
    for t, size in ((1, 148), (2, 92), (3, 64), (4, 32), (4, 48), (4, 1452)):
        for d in (-2, -1, 0, 1, 2):
            if size + d >= 4:
                tx(bytes([t, 0, 0, 0]) + os.urandom(size + d - 4))
    for i in idx[:4]:
        for n in (32, 33, 48, 100, 1452):
            tx(b"\x04\0\0\0" + i + os.urandom(n - 8))
        # nonce counters far ahead and at 2^64-1 with a real index
        tx(b"\x04\0\0\0" + i + b"\xff" * 8 + os.urandom(32))
    for t in (0, 5, 255):
        tx(bytes([t, 0, 0, 0]) + os.urandom(60))
    for m in msgs:   # reserved bytes non-zero
        tx(bytes([m[0], 1, 0, 0]) + m[4:])
    tx(b"")
    tx(os.urandom(65507))
    tx(os.urandom(9000))
    time.sleep(1.5)
    drain()
    print("sent %d datagrams (%d captured messages replayed and mutated), %d replies" % (
        sent[0], len(msgs), len(replies)))
    for n, (src, data) in enumerate(replies[:10]):
        print("REPLY from %s: %d bytes, type %d, in the %s phase" % (
            src, len(data), data[0] if data else -1, "slow" if n < slow else "flood"))
    return 1 if replies else 0


def flood(src, host, port, seconds, rate, ready):
    """Random 148-byte type-1 datagrams (bad mac1) from SRC at RATE/s for
    SECONDS; creates the file READY once 300 have gone out."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((src, 0))
    dst, rate = (host, int(port)), float(rate)
    start = time.time()
    n = 0
    while time.time() < start + float(seconds):
        try:
            s.sendto(b"\x01\0\0\0" + os.urandom(144), dst)
        except OSError:
            pass
        n += 1
        if n == 300:
            open(ready, "w").close()
        ahead = n / rate - (time.time() - start)
        if ahead > 0:
            time.sleep(ahead)
    print("flood: %d initiations with bad mac1 in %.1f s" % (n, time.time() - start))


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "flood" and len(sys.argv) == 8:
        flood(*sys.argv[2:])
        sys.exit(0)
    if len(sys.argv) >= 2 and sys.argv[1] == "capture" and len(sys.argv) == 6:
        capture(*sys.argv[2:])
        sys.exit(0)
    if len(sys.argv) >= 2 and sys.argv[1] == "send" and len(sys.argv) == 6:
        sys.exit(send(*sys.argv[2:]))
    sys.stderr.write(__doc__)
    sys.exit(2)
