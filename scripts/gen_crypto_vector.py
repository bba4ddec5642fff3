#!/usr/bin/env python3
"""Print a known-answer vector for mh-profile's crypto module.

Uses Python's `cryptography` package (an implementation independent of the
RustCrypto crates) to derive a key with PBKDF2-HMAC-SHA512 and seal a small
plaintext with AES-256-GCM and a 16-byte nonce, the same parameters MetaHuman
OS uses for `*.json.enc` memories. The printed values are hard-coded in
`crates/mh-profile/src/crypto.rs` (test `known_answer_from_python_cryptography`).
"""
import base64
import json

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

# Non-ASCII on purpose: the seed hands the JS string to Node, which encodes it as UTF-8.
PASSPHRASE = "correct horse \u2014 battery staple \u2713"
SALT = bytes(range(32))
IV = bytes(range(0xA0, 0xB0))
ITERATIONS = 1000
PLAINTEXT = b'{"id":"evt-202511211030001","content":"User: hi\\n\\nAssistant: hello"}'

key = PBKDF2HMAC(
    algorithm=hashes.SHA512(), length=32, salt=SALT, iterations=ITERATIONS
).derive(PASSPHRASE.encode("utf-8"))
sealed = AESGCM(key).encrypt(IV, PLAINTEXT, None)  # ciphertext || 16-byte tag
ciphertext, tag = sealed[:-16], sealed[-16:]

b64 = lambda b: base64.b64encode(b).decode("ascii")
print(json.dumps({
    "passphrase": PASSPHRASE,
    "iterations": ITERATIONS,
    "salt_b64": b64(SALT),
    "key_hex": key.hex(),
    "plaintext": PLAINTEXT.decode("utf-8"),
    "envelope": {"iv": b64(IV), "authTag": b64(tag), "ciphertext": b64(ciphertext)},
}, indent=2, ensure_ascii=True))
