"""Tokens, callers, permissions and nonces of the Abaco emulator (spec §2, §11, §16)."""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from starlette.requests import Request

from .store import Store
from .wire import LEVELS, NOT_AUTHORIZED, TENANT, AbacoError, now

ROLE_CLAIM = "http://wso2.org/claims/role"
USER_CLAIM = "http://wso2.org/claims/enduser"
ADMIN, PRIVILEGED, USER = "Internal/abaco-admin", "Internal/abaco-privileged", "Internal/abaco-user"
SANDBOX_USERS = {"admin": ("admin", ADMIN), "privileged": ("privileged", PRIVILEGED),
                 "user": ("testuser", USER), "user2": ("testuser2", USER)}
FAR_FUTURE = 4_102_444_800  # 2100-01-01


def load_secret(path: Path) -> bytes:
    """The HS256 signing secret, created once with mode 0600."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text(encoding="ascii").strip().encode()


def issue_token(secret: bytes, username: str, role: str) -> str:
    """An emulator JWT with Tapis and WSO2 claims that never expires in practice."""
    claims = {"tapis/username": username, "tapis/tenant_id": TENANT, "tapis/token_type": "access",
              "sub": f"{username}@{TENANT}", USER_CLAIM: f"{username}@carbon.super", ROLE_CLAIM: role,
              "iat": int(time.time()), "exp": FAR_FUTURE}
    return jwt.encode(claims, secret, algorithm="HS256")


@dataclass
class Caller:
    """Who is calling, with which roles; ``nonce`` is set when a nonce authenticated the call."""

    user: str
    roles: list[str] = field(default_factory=list)
    nonce: dict[str, Any] | None = None

    @property
    def admin(self) -> bool:
        """Admins bypass permission checks."""
        return ADMIN in self.roles

    @property
    def privileged(self) -> bool:
        """Admins and privileged users may set privileged fields."""
        return self.admin or PRIVILEGED in self.roles


def _claims_caller(claims: dict[str, Any]) -> Caller:
    user = str(claims.get("tapis/username") or str(claims.get(USER_CLAIM, "")).split("@")[0])
    roles = [r for r in str(claims.get(ROLE_CLAIM, USER)).split(",") if r]
    if not user:
        raise AbacoError("Invalid JWT.")
    return Caller(user, roles)


def identify(request: Request, secret: bytes, v3: bool) -> Caller | None:
    """The caller from a token header, or ``None`` when no token is present (nonce path)."""
    token = request.headers.get("x-tapis-token")
    auth = request.headers.get("authorization", "")
    if not token and auth.lower().startswith("bearer "):
        token = auth[7:].strip()
    if token:
        try:
            return _claims_caller(jwt.decode(token, secret, algorithms=["HS256"]))
        except jwt.PyJWTError:
            raise AbacoError("Invalid JWT.") from None
    for name, value in request.headers.items():
        if name.startswith("x-jwt-assertion-"):
            try:
                return _claims_caller(jwt.decode(value, options={"verify_signature": False}))
            except jwt.PyJWTError:
                raise AbacoError("Invalid JWT.") from None
    if request.query_params.get("x-nonce"):
        return None
    raise AbacoError("No access token found in the request." if v3 else "No JWT or nonce provided.")


def redeem_nonce(store: Store, nonce_id: str, actor_id: str | None, level: str) -> Caller:
    """Check and consume one use of a nonce (every request consumes one, GETs included)."""
    nonce = store.get("nonce", nonce_id)
    if nonce is None:
        raise AbacoError("Nonce does not exist.")
    if actor_id is None:
        raise AbacoError("Not authorized.")
    if nonce["actor_id"] != actor_id:
        raise AbacoError(NOT_AUTHORIZED)
    if LEVELS[nonce["level"]] < LEVELS[level]:
        raise AbacoError("Nonce does not have sufficient permissions level.")
    if nonce["remaining_uses"] == 0:
        raise AbacoError("No remaining uses left for this nonce.")
    nonce["current_uses"] += 1
    nonce["last_use_time"] = now().isoformat()
    if nonce["remaining_uses"] > 0:
        nonce["remaining_uses"] -= 1
    store.put("nonce", nonce, actor_id)
    return Caller(nonce["owner"], list(nonce["roles"]), nonce)


def permissions(store: Store, actor_id: str) -> dict[str, str]:
    """An actor's permission dict."""
    rec = store.get("perm", actor_id)
    return dict(rec["perms"]) if rec else {}


def allowed(store: Store, caller: Caller, actor_id: str, level: str) -> bool:
    """Admin, ``ABACO_WORLD`` or the caller's own level ≥ ``level``."""
    if caller.admin:
        return True
    perms = permissions(store, actor_id)
    if "ABACO_WORLD" in perms:
        return True
    return LEVELS.get(perms.get(caller.user, "NONE"), 0) >= LEVELS[level]
