"""Known-answer vectors for login hashes and challenges (msnp.md d.1, d.3, d.4)."""

from __future__ import annotations

import hashlib

from msmgr.codec import MSNP11_KEY, challenge_md5, challenge_msnp11, challenge_response, login_hash


def test_md5_challenge_vectors() -> None:
    assert challenge_md5("12345678901234567890") == "8ba1bb9d6dbf624fee31a2053af5fdd0"
    assert challenge_md5("15570131571988941333") == "8f2f5a91b72102cd28355e9fc9000d6e"


def test_msnp11_challenge_vector() -> None:
    assert (
        challenge_msnp11("22210219642164014968", MSNP11_KEY) == "85ecb0db8f32113df79ce0892b9a102c"
    )


def test_login_hash_is_md5_of_salt_then_password() -> None:
    salt, password = "1013928519.693957190", "s3cret"
    assert login_hash(salt, password) == hashlib.md5(b"1013928519.693957190s3cret").hexdigest()
    assert login_hash(salt, password) != login_hash(salt, password + "x")


def test_challenge_response_picks_the_scheme_by_version() -> None:
    assert challenge_response("15570131571988941333", 8) == (
        "msmsgs@msnmsgr.com",
        "8f2f5a91b72102cd28355e9fc9000d6e",
    )
    product, digest = challenge_response("22210219642164014968", 11)
    assert (product, digest) == ("PROD0090YUAUV{2B", "85ecb0db8f32113df79ce0892b9a102c")
