"""Who is calling: the emulator's HS256 tokens, the three ways Abaco receives them, roles and levels.

* ``Authorization: Bearer <jwt>`` and ``X-Tapis-Token: <jwt>`` carry a JWT signed with the emulator's secret
  (``STATE_DIR/abaco/jwt_secret``, 0600, created once): claims ``exp``, ``tapis/username``,
  ``tapis/tenant_id`` plus the WSO2 claims ``http://wso2.org/claims/enduser`` and ``.../role`` (the roles).
  Both headers are accepted on every prefix.
* ``X-Jwt-Assertion-<TENANT>: <jwt>`` (how Abaco's gateway and Abaco's v2 test suite send it; the tenant is the
  header-name suffix, upper-cased) is **refused** unless the sandbox was started with the option
  ``--jwt-assertion`` (setting ``abaco_jwt_assertion``); even then only a JWT signed with the sandbox's own
  secret is accepted (HS256, with ``exp``): ``alg: none``, other keys and expired tokens are refused like an
  invalid bearer token. Real Abaco trusts this header because only its gateway can reach it; on a shared machine
  any local process can reach the sandbox, so an unverified assertion would let it act as any user.
* Without any token, ``?x-nonce=<id>`` (see :mod:`.routes_nonces`).

Failures are 400 with Abaco's messages (Abaco itself never answers 401/403); the setting
``abaco_strict_auth`` makes a missing or invalid token a gateway-style 401 instead.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt

from .wire import AbacoError, Flavor

SECRET_FILE = "jwt_secret"
ROLE_CLAIM = "http://wso2.org/claims/role"
USER_CLAIM = "http://wso2.org/claims/enduser"
ADMIN_ROLE = "Internal/abaco-admin"
PRIVILEGED_ROLE = "Internal/abaco-privileged"
USER_ROLE = "Internal/abaco-user"
LIMITED_ROLE = "Internal/abaco-limited"
ABACO_ROLES = (ADMIN_ROLE, PRIVILEGED_ROLE, USER_ROLE, LIMITED_ROLE)
V3_ADMIN_ROLE = "abaco_admin"
V3_PRIVILEGED_ROLE = "abaco_privileged"

ASSERTION_PREFIX = "x-jwt-assertion-"
ASSERTION_OFF = ("This sandbox does not accept X-Jwt-Assertion headers: send the token as Authorization: Bearer "
                 "or X-Tapis-Token, or start the sandbox with --jwt-assertion to accept assertions signed with "
                 "its key.")

LEVELS = ("NONE", "READ", "EXECUTE", "UPDATE")
WORLD = "ABACO_WORLD"

# The sandbox users (key in sandbox.json -> username, roles).
SANDBOX_USERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "admin": ("testuser", (ADMIN_ROLE, USER_ROLE)),
    "privileged": ("testshareuser", (PRIVILEGED_ROLE, USER_ROLE)),
    "user": ("jdoe", (USER_ROLE,)),
    "user2": ("testotheruser", (USER_ROLE,)),
}


def sandbox_roles(user: str) -> tuple[str, ...]:
    """The roles a sandbox user's tokens carry (a user the sandbox does not know: a plain Abaco user)."""
    return next((roles for name, roles in SANDBOX_USERS.values() if name == user), (USER_ROLE,))


def level_value(level: str) -> int:
    """``NONE(0) < READ(1) < EXECUTE(2) < UPDATE(3)``."""
    return LEVELS.index(level)


def load_secret(folder: Path) -> bytes:
    """The token signing secret, created on first use in ``folder/jwt_secret`` (0600) and kept across restarts."""
    path = folder / SECRET_FILE
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
    value = path.read_text().strip()
    if len(value) < 32:
        raise RuntimeError(f"{path} is too short; delete it to get a new secret")
    return value.encode()


def mint_token(secret: bytes, username: str, tenant: str, roles: tuple[str, ...], lifetime: float) -> str:
    """An HS256 JWT tapipy accepts (it has ``exp``) and the emulator verifies."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iat": now,
        "exp": now + int(lifetime),
        "jti": secrets.token_hex(8),
        "sub": f"{username}@{tenant}",
        "tapis/username": username,
        "tapis/tenant_id": tenant,
        "tapis/token_type": "access",
        "tapis/account_type": "user",
        USER_CLAIM: username,
        ROLE_CLAIM: ",".join(roles),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


@dataclass
class Caller:
    """The identity a request runs as (after a token or a redeemed nonce)."""

    user: str
    tenant: str
    roles: tuple[str, ...]
    nonce: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def admin(self) -> bool:
        return ADMIN_ROLE in self.roles or V3_ADMIN_ROLE in self.roles

    @property
    def privileged(self) -> bool:
        return self.admin or PRIVILEGED_ROLE in self.roles or V3_PRIVILEGED_ROLE in self.roles


def _roles(claims: dict[str, Any]) -> tuple[str, ...] | None:
    raw = claims.get(ROLE_CLAIM)
    if raw is None:
        return None
    if isinstance(raw, list):
        return tuple(str(r) for r in raw)
    return tuple(r.strip() for r in str(raw).split(",") if r.strip())


def _caller_from_claims(claims: dict[str, Any], tenant: str | None, flavor: Flavor) -> Caller:
    user = claims.get("tapis/username") or str(claims.get(USER_CLAIM) or "").split("@", 1)[0]
    if not user or not isinstance(user, str):
        raise AbacoError("Invalid JWT." if not flavor.v3 else "Invalid Tapis token.")
    tenant = (tenant or str(claims.get("tapis/tenant_id") or "dev")).upper()
    roles = _roles(claims)
    if roles is None:
        roles = (USER_ROLE,)
    elif not flavor.v3 and not any(r in ABACO_ROLES for r in roles):
        raise AbacoError("Not authorized -- missing required role.")
    return Caller(user=user, tenant=tenant, roles=roles)


#: Verified tokens remembered per authenticator (the cache is emptied when full).
VERIFIED_TOKENS = 1024


class Authenticator:
    """Turns request headers into a :class:`Caller` (or ``None`` when no token is present)."""

    def __init__(self, secret: bytes, strict: bool = False, accept_assertions: bool = False) -> None:
        self._secret = secret
        self.strict = strict
        self.accept_assertions = accept_assertions
        self._seen: dict[str, dict[str, Any]] = {}  # token -> its claims, once its signature was verified

    def _verified(self, token: str, flavor: Flavor) -> dict[str, Any]:
        """The claims of a token signed with the sandbox's secret (HS256, ``exp`` required and not past).

        The signature is verified once per token (a map sends three requests per call with the same one); its
        expiry is checked at every use, as PyJWT checks it (expired from ``exp`` on)."""
        claims = self._seen.get(token)
        if claims is not None:
            if float(claims["exp"]) <= time.time():
                self._seen.pop(token, None)
                raise self._invalid(flavor)
            return dict(claims)
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"], options={"require": ["exp"]})
        except jwt.PyJWTError:
            raise self._invalid(flavor) from None
        assert claims is not None
        if len(self._seen) >= VERIFIED_TOKENS:
            self._seen.clear()
        self._seen[token] = dict(claims)
        return claims

    def _invalid(self, flavor: Flavor) -> AbacoError:
        if self.strict:
            return AbacoError("Invalid Credentials", 401)
        return AbacoError("Invalid Tapis token." if flavor.v3 else "Invalid JWT.")

    def missing(self, flavor: Flavor) -> AbacoError:
        """The error for a request with neither a token nor a nonce."""
        if self.strict:
            return AbacoError("Invalid Credentials", 401)
        return AbacoError("No access token found in the request." if flavor.v3 else "No JWT or nonce provided.")

    def identify(self, headers: Any, flavor: Flavor) -> Caller | None:
        """The caller named by the request's token headers; ``None`` when there is no token at all."""
        token = headers.get("x-tapis-token")
        if not token:
            auth = headers.get("authorization") or ""
            if auth.lower().startswith("bearer "):
                token = auth[7:].strip()
        if token:
            return _caller_from_claims(self._verified(token, flavor), None, flavor)
        for name in headers:
            if name.lower().startswith(ASSERTION_PREFIX):
                if not self.accept_assertions:
                    raise self._assertion_off(flavor)
                claims = self._verified(headers[name], flavor)
                return _caller_from_claims(claims, name[len(ASSERTION_PREFIX):].upper(), flavor)
        return None

    def _assertion_off(self, flavor: Flavor) -> AbacoError:
        if self.strict:
            return AbacoError("Invalid Credentials", 401)
        return AbacoError(f"{self._invalid(flavor).message} {ASSERTION_OFF}")
