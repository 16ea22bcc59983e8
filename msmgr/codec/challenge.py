"""msmgr/codec/challenge: the pure functions of MSNP login and challenges.

* ``login_hash``: MSNP2-7 ``USR MD5 S`` answer, ``md5(salt + password)``.
* ``challenge_md5``: MSNP6-10 ``QRY`` payload, ``md5(challenge + private key)``.
* ``challenge_msnp11``: the MSNP11+ ``QRY`` payload (reference d.4).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from .versions import CHL_KEY_15, CHL_KEY_18, CHL_MSNP11


@dataclass(frozen=True, slots=True)
class ClientKey:
    """A challenge key pair: the public id sent in QRY and the private key hashed in."""

    product_id: str
    private_key: str


# MSNP6-MSNP10: the pair of client 3.6.0038, valid for the whole MD5 scheme.
MSNP6_KEY = ClientKey("msmsgs@msnmsgr.com", "Q1P7W2E4J9R8U3S5")
# MSNP11+ pairs (reference d.4).
MSNP11_KEY = ClientKey("PROD0090YUAUV{2B", "YMM8C_H7KCQ2S_KL")
MSNP15_KEY = ClientKey("PROD0119GSJUC$18", "ILTXC!4IXB5FB*PX")
MSNP18_KEY = ClientKey("PROD0120PW!CCV9@", "C1BX{V4W}Q3*10SM")

_MOD = 0x7FFFFFFF


def login_hash(salt: str, password: str) -> str:
    """Lowercase hex ``md5(salt + password)``, the MSNP2-7 ``USR MD5 S`` answer."""
    return hashlib.md5((salt + password).encode("utf-8")).hexdigest()


def challenge_md5(challenge: str, private_key: str = MSNP6_KEY.private_key) -> str:
    """Lowercase hex ``md5(challenge + private_key)``, the MSNP6-10 QRY payload."""
    return hashlib.md5((challenge + private_key).encode("ascii")).hexdigest()


def challenge_msnp11(challenge: str, key: ClientKey = MSNP11_KEY) -> str:
    """The MSNP11+ QRY payload for ``challenge`` with ``key`` (32 lowercase hex digits)."""
    digest = hashlib.md5((challenge + key.private_key).encode("ascii")).digest()
    hashes = struct.unpack("<4I", digest)
    m0, m1, m2, m3 = (h & _MOD for h in hashes)
    text = (challenge + key.product_id).encode("ascii")
    text += b"0" * (-len(text) % 8)
    words = struct.unpack(f"<{len(text) // 4}I", text)
    high = low = 0
    for i in range(0, len(words), 2):
        t = (words[i] * 0x0E79A9C1) % _MOD
        t = (m0 * (t + low) + m1) % _MOD
        high += t
        t = (words[i + 1] + t) % _MOD
        low = (m2 * t + m3) % _MOD
        high += low
    low = (low + m1) % _MOD
    high = (high + m3) % _MOD
    out = struct.pack("<4I", hashes[0] ^ low, hashes[1] ^ high, hashes[2] ^ low, hashes[3] ^ high)
    return out.hex()


def challenge_response(challenge: str, version: int) -> tuple[str, str]:
    """The (product id, 32-hex payload) a client of ``version`` sends in QRY."""
    if version >= CHL_MSNP11:
        if version >= CHL_KEY_18:
            key = MSNP18_KEY
        elif version >= CHL_KEY_15:
            key = MSNP15_KEY
        else:
            key = MSNP11_KEY
        return key.product_id, challenge_msnp11(challenge, key)
    return MSNP6_KEY.product_id, challenge_md5(challenge)
