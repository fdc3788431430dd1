#!/usr/bin/env python3
"""wg_kat.py - an independent reference of the WireGuard handshake (Noise_IKpsk2,
whitepaper section 5.4) in Python (hashlib BLAKE2s, hmac, the cryptography
package's X25519 and ChaCha20-Poly1305), used to generate the known-answer
messages in test_wg_noise.c.  Fixed keys, ephemerals and indices; prints C
arrays.  Run: python3 tests/unit/wg_kat.py"""
import hashlib, hmac, struct
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

def HASH(x): return hashlib.blake2s(x).digest()
def MAC(k, x): return hashlib.blake2s(x, digest_size=16, key=k).digest()
def HMAC(k, x): return hmac.new(k, x, hashlib.blake2s).digest()
def KDF(n, key, x):
    t0 = HMAC(key, x); out = []; prev = b''
    for i in range(1, n + 1):
        prev = HMAC(t0, prev + bytes([i])); out.append(prev)
    return out
def PUB(priv):
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
def DH(priv, pub): return X25519PrivateKey.from_private_bytes(priv).exchange(X25519PublicKey.from_public_bytes(pub))
def AEAD(k, ctr, pt, ad): return ChaCha20Poly1305(k).encrypt(b'\0' * 4 + struct.pack('<Q', ctr), pt, ad)

S_i = bytes(range(1, 33)); S_r = bytes(range(33, 65))
E_i = bytes(range(65, 97)); E_r = bytes(range(97, 129))
PSK = bytes([0x77] * 32)
IDX_I = 0x11223344; IDX_R = 0x55667788
REAL_NS = 1700000000 * 10**9 + 123456789
sec = 0x400000000000000a + REAL_NS // 10**9
nsec = (REAL_NS % 10**9) & ~((1 << 24) - 1)
TS = struct.pack('>QI', sec, nsec)
Spub_i, Spub_r = PUB(S_i), PUB(S_r)

# initiation
C = HASH(b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s")
H = HASH(C + b"WireGuard v1 zx2c4 Jason@zx2c4.com")
H = HASH(H + Spub_r)
ephem = PUB(E_i)
C, = KDF(1, C, ephem); H = HASH(H + ephem)
C, k = KDF(2, C, DH(E_i, Spub_r))
enc_static = AEAD(k, 0, Spub_i, H); H = HASH(H + enc_static)
C, k = KDF(2, C, DH(S_i, Spub_r))
enc_ts = AEAD(k, 0, TS, H); H = HASH(H + enc_ts)
init = struct.pack('<II', 1, IDX_I) + ephem + enc_static + enc_ts
init += MAC(HASH(b"mac1----" + Spub_r), init) + bytes(16)
assert len(init) == 148

# response
ephem_r = PUB(E_r)
C, = KDF(1, C, ephem_r); H = HASH(H + ephem_r)
C, = KDF(1, C, DH(E_r, ephem))
C, = KDF(1, C, DH(E_r, Spub_i))
C, tau, k = KDF(3, C, PSK); H = HASH(H + tau)
enc_nothing = AEAD(k, 0, b'', H); H = HASH(H + enc_nothing)
resp = struct.pack('<III', 2, IDX_R, IDX_I) + ephem_r + enc_nothing
resp += MAC(HASH(b"mac1----" + Spub_i), resp) + bytes(16)
assert len(resp) == 92
T_send_i, T_recv_i = KDF(2, C, b'')

# first data message initiator -> responder: 20 bytes padded to 32, counter 0
plain = bytes(range(0xa0, 0xa0 + 20))
data = struct.pack('<IIQ', 4, IDX_R, 0) + AEAD(T_send_i, 0, plain + bytes(12), b'')
assert len(data) == 16 + 32 + 16

# mac2 of the initiation with a known cookie (the bytes before it are kat_init's)
COOKIE = bytes(range(0xc0, 0xd0))
mac2 = MAC(COOKIE, init[:132])

def carr(name, b):
    print("static const uint8_t %s[%d] = {" % (name, len(b)))
    for i in range(0, len(b), 12):
        print("    " + " ".join("0x%02x," % x for x in b[i:i + 12]))
    print("};")

carr("kat_init", init); carr("kat_resp", resp); carr("kat_data", data)
carr("kat_mac2", mac2); carr("kat_send_i", T_send_i); carr("kat_recv_i", T_recv_i)
carr("kat_ts", TS)
