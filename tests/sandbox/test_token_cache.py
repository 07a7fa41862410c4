"""The Abaco emulator verifies a token's signature once, then only its expiry: decoding a JWT was the largest part
of a request's work in the host (a functions map sends three requests per call with the same token)."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from swan_jupyter.sandbox.abaco import auth as auth_module
from swan_jupyter.sandbox.abaco.auth import Authenticator, mint_token
from swan_jupyter.sandbox.abaco.wire import V3, AbacoError

SECRET = b"s" * 32


def test_a_token_is_verified_once_and_its_expiry_checked_at_every_use(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(auth_module.jwt, "decode", counting)
    authenticator = Authenticator(SECRET)
    token = mint_token(SECRET, "jdoe", "dev", ("Internal/everyone",), lifetime=2)
    for _ in range(5):
        caller = authenticator.identify({"x-tapis-token": token}, V3)
        assert caller is not None and caller.user == "jdoe"
    assert len(decoded) == 1
    time.sleep(2.2)  # past its exp: refused although it was verified before
    with pytest.raises(AbacoError, match="Invalid Tapis token"):
        authenticator.identify({"x-tapis-token": token}, V3)


def test_a_token_signed_with_another_secret_is_refused_every_time() -> None:
    authenticator = Authenticator(SECRET)
    forged = mint_token(b"o" * 32, "admin", "dev", ("Internal/everyone",), lifetime=3600)
    for _ in range(2):
        with pytest.raises(AbacoError, match="Invalid Tapis token"):
            authenticator.identify({"x-tapis-token": forged}, V3)
    good = mint_token(SECRET, "jdoe", "dev", ("Internal/everyone",), lifetime=3600)
    assert authenticator.identify({"x-tapis-token": good}, V3) is not None
    with pytest.raises(AbacoError):  # another authenticator (another secret) trusts nothing the first cached
        Authenticator(b"o" * 32).identify({"x-tapis-token": good}, V3)
