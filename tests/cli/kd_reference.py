#!/usr/bin/env python3
"""Independent reference for keyderive: the deployed Python driver's scheme.

Usage: kd_reference.py [--add ADDITIONAL_B64] SEED_B64 ADDRESS

Written from the scheme's description, not from the C code, with the same
primitives the deployed driver uses (hashlib.sha3_256, base64, argparse), so
agreement with the C binary shows byte compatibility with deployed keys.
IPv6 (16 address bytes) is wgvsock's extension of the IPv4-only original.
"""
import argparse
import base64
import hashlib
import ipaddress


def derive_private(seed: bytes, additional: bytes, address: str) -> bytes:
    packed = ipaddress.ip_address(address.split("/")[0]).packed
    h = bytearray(hashlib.sha3_256(seed + additional + packed).digest())
    h[0] &= 248
    h[31] = (h[31] & 127) | 64
    return bytes(h)


def main(argv=None) -> str:
    p = argparse.ArgumentParser()
    p.add_argument("--add", default=base64.b64encode(b"bestov.io").decode())
    p.add_argument("seed")
    p.add_argument("address")
    a = p.parse_args(argv)
    key = derive_private(base64.b64decode(a.seed, validate=True),
                         base64.b64decode(a.add, validate=True), a.address)
    return base64.b64encode(key).decode()


if __name__ == "__main__":
    print(main())
