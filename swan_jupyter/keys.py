"""Where private keys come from: never from a magic's arguments, a cell, or the config file.

:func:`load_account` tries, in order:

1. the ``SWAN_PRIVATE_KEY`` environment variable (hex, with or without ``0x``);
2. the key file of the profile (``private_key_file`` / ``SWAN_PRIVATE_KEY_FILE``; hex text);
3. an encrypted keystore (``keystore_file`` / ``SWAN_KEYSTORE_FILE``), decrypted with
   ``SWAN_KEYSTORE_PASSWORD`` or a password prompt (``getpass``);
4. a ``getpass`` prompt for the key itself, when a prompt is allowed.

A key file or keystore that other users may read or write is refused, as ssh does, with the ``chmod 600``
command that fixes it; the ``allow_insecure_key_file`` setting (``SWAN_ALLOW_INSECURE_KEY_FILE=1``) accepts
it with a warning instead.

Key material is wrapped as soon as it is read: the raw text lives only inside small functions that return a
:class:`~swan_jupyter.redact.Secret` (or an account) and cannot raise after reading, so no frame on the stack of
an error (which ``%xmode Verbose`` would show) holds it. Every spelling of the key (with and without ``0x``,
lower and upper case) and the keystore password are registered for redaction.

The returned account object keeps the key; its repr does not show it. eth-account is imported only here,
when a payment actually needs a key.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import shlex
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import ConfigurationError
from .redact import Secret, register, register_hex

log = logging.getLogger("swan_jupyter.keys")

Prompt = Callable[[str], str]

#: A key file is a line of hex; anything much larger is the wrong file.
MAX_KEY_FILE_BYTES = 64 * 1024

_KEY_HINT = "A private key is 64 hex digits, optionally prefixed with 0x."


def _key_secret(text: str | bytes | None) -> tuple[Secret | None, str]:
    """``(Secret("0x<64 hex>"), "")`` for a valid key text, else ``(None, problem)``. Never raises.

    Whatever the text is, it is registered for redaction before it is looked at (a key with a typo is still
    a key), and the problem never quotes it.
    """
    try:
        if text is None:
            return None, "is empty"
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                return None, "is not text (a key file holds 64 hex digits)"
        text = text.strip()
        register(text)
        if not text:
            return None, "is empty"
        if text[:2] in ("0x", "0X"):
            text = text[2:]
        register(text)
        if len(text) != 64:
            return None, f"is not 32 bytes of hex ({len(text)} characters found, 64 expected)"
        if any(c not in "0123456789abcdefABCDEF" for c in text):
            return None, "contains characters that are not hex digits"
        register_hex(text)
        return Secret("0x" + text.lower()), ""
    except Exception:  # never let a frame holding the text reach a traceback
        return None, "could not be read as a key"


def _account_of(secret: Secret) -> tuple[Any, str]:
    """``(LocalAccount, "")`` for a key, else ``(None, problem)``. Never raises, so no frame keeps the key."""
    from eth_account import Account

    try:
        return Account.from_key(secret.reveal()), ""
    except Exception:
        pass  # dropped on purpose: eth-account's frames and message hold the key
    return None, "is not a valid secp256k1 private key (it must be between 1 and the curve order)"


def _refuse(where: str, problem: str) -> ConfigurationError:
    return ConfigurationError(f"The private key from {where} {problem}; it is not used.", hint=_KEY_HINT)


def account_from_key(private_key: str | Secret, *, where: str = "the private_key argument") -> Any:
    """An eth-account ``LocalAccount`` for a key given in code (a :class:`Secret` preferably, or hex text).

    The key is registered for redaction in every spelling. A malformed key raises
    :class:`~swan_jupyter.errors.ConfigurationError` that neither quotes it nor chains an exception holding it.
    """
    secret, problem = _key_secret(private_key.reveal() if isinstance(private_key, Secret) else private_key)
    if secret is None:
        raise _refuse(where, problem)
    account, problem = _account_of(secret)
    if account is None:
        raise _refuse(where, problem)
    return account


def check_private_file(path: Path, mode: int, owner: int, settings: Settings, what: str) -> None:
    """Refuse ``path`` (already opened; ``mode``/``owner`` from its ``fstat``) when others may read or write it.

    Like ssh: any permission for the group or for others is refused, with the ``chmod 600`` command in the
    hint. ``settings.allow_insecure_key_file`` turns the refusal into a logged warning. A file owned by
    another user is refused too (they could replace the key). Nothing is checked on Windows.
    """
    if os.name == "nt":
        return
    fix = f"chmod 600 {shlex.quote(str(path))}"
    problems = []
    if stat.S_IMODE(mode) & 0o077:
        problems.append(f"is readable or writable by other users (mode {stat.S_IMODE(mode):o})")
    if hasattr(os, "geteuid") and owner not in (os.geteuid(), 0):
        problems.append("belongs to another user")
        fix = f"chown {os.geteuid()} {shlex.quote(str(path))} && {fix}"
    if not problems:
        return
    if settings.allow_insecure_key_file:
        log.warning("%s %s %s; using it because allow_insecure_key_file is set. Fix: %s",
                    what, path, " and ".join(problems), fix)
        return
    raise ConfigurationError(
        f"The {what} {path} {' and '.join(problems)}, so it is not used.",
        hint=f"Run: {fix}   (or, knowingly, set allow_insecure_key_file = true / "
             "SWAN_ALLOW_INSECURE_KEY_FILE=1 to use it anyway).",
    )


def _open_private(path: Path, settings: Settings, what: str) -> int:
    """Open ``path`` read-only and check its permissions on the open file (no race with a rename)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot read the {what} {path}: {exc.strerror}.",
            hint="Check private_key_file / keystore_file (or SWAN_PRIVATE_KEY_FILE / SWAN_KEYSTORE_FILE) "
                 "in your profile.",
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigurationError(f"The {what} {path} is not a regular file.",
                                     hint="Point the setting at the file itself.")
        if info.st_size > MAX_KEY_FILE_BYTES:
            raise ConfigurationError(f"The {what} {path} is {info.st_size} bytes: too large to be a key file.",
                                     hint="Check that the setting names the right file.")
        check_private_file(path, info.st_mode, info.st_uid, settings, what)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read_fd(fd: int) -> bytes | None:
    try:
        with os.fdopen(fd, "rb") as fh:
            return fh.read(MAX_KEY_FILE_BYTES + 1)
    except OSError:
        return None


def _key_from_file(path: Path, settings: Settings) -> Secret:
    secret, problem = _key_secret(_read_fd(_open_private(path, settings, "private key file")))
    if secret is None:
        raise _refuse(f"the key file {path}", problem)
    return secret


def _key_from_keystore(path: Path, settings: Settings, ask: Prompt, allow_prompt: bool) -> Secret:
    raw = _read_fd(_open_private(path, settings, "keystore"))
    try:
        keystore = json.loads(raw or b"")
    except ValueError as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
        raise ConfigurationError(f"Cannot read the keystore {path}: it is not JSON ({reason}).",
                                 hint="A keystore is the JSON file written by geth, MetaMask or eth-account.") from None
    env_password = os.environ.get("SWAN_KEYSTORE_PASSWORD")
    if env_password is None and not allow_prompt:
        raise ConfigurationError(
            f"The keystore {path} needs a password and prompting is not allowed here.",
            hint="Set SWAN_KEYSTORE_PASSWORD in the kernel's environment.",
        )
    password = Secret(env_password if env_password is not None else ask(f"Password for keystore {path.name}: "))
    del env_password
    secret, problem = _decrypt(keystore, password)
    if secret is None:
        raise ConfigurationError(f"Could not decrypt the keystore {path}: {problem}.",
                                 hint="Check SWAN_KEYSTORE_PASSWORD (or the password typed) and the file.")
    return secret


def _decrypt(keystore: Any, password: Secret) -> tuple[Secret | None, str]:
    """Decrypt a keystore to a key :class:`Secret`. Never raises, so no frame keeps the password or key."""
    from eth_account import Account

    try:
        secret, problem = _key_secret(bytes(Account.decrypt(keystore, password.reveal())).hex())
    except Exception:
        pass  # dropped on purpose: the frames of eth-account hold the password and the key
    else:
        return secret, problem
    return None, "wrong password or damaged file"


def load_account(settings: Settings, *, prompt: Prompt | None = None, allow_prompt: bool = True) -> Any:
    """Return an eth-account ``LocalAccount`` for paying, from the sources listed in the module docstring.

    Raises :class:`~swan_jupyter.errors.ConfigurationError` when no source gives a key, when the key file or
    keystore is open to other users (unless ``allow_insecure_key_file``), or when the key does not belong to
    ``settings.wallet_address`` (compared case-insensitively). No error text contains the key.
    """
    ask = prompt or getpass.getpass
    if os.environ.get("SWAN_PRIVATE_KEY"):
        where = "SWAN_PRIVATE_KEY"
        secret, problem = _key_secret(os.environ.get("SWAN_PRIVATE_KEY"))
        if secret is None:
            raise _refuse(where, problem)
    elif settings.private_key_file is not None:
        where = f"the key file {settings.private_key_file}"
        secret = _key_from_file(Path(settings.private_key_file), settings)
    elif settings.keystore_file is not None:
        where = f"the keystore {settings.keystore_file}"
        secret = _key_from_keystore(Path(settings.keystore_file), settings, ask, allow_prompt)
    elif allow_prompt:
        where = "the prompt"
        secret, problem = _key_secret(ask("Private key for the paying wallet (input hidden): "))
        if secret is None:
            raise ConfigurationError("No private key was entered." if problem == "is empty"
                                     else f"The private key entered {problem}; it is not used.", hint=_KEY_HINT)
    else:
        raise ConfigurationError(
            "No private key is configured for paying.",
            hint="Set SWAN_PRIVATE_KEY_FILE (a file holding the hex key, chmod 600), SWAN_KEYSTORE_FILE, or "
            "SWAN_PRIVATE_KEY in the kernel's environment. Never put a key in a cell.",
        )
    account, problem = _account_of(secret)
    if account is None:
        raise _refuse(where, problem)
    if settings.wallet_address and account.address.lower() != settings.wallet_address.lower():
        raise ConfigurationError(
            f"The private key belongs to {account.address}, not to the configured wallet {settings.wallet_address}.",
            hint="Use the key of the configured wallet, or set wallet_address to the key's address.",
        )
    return account


__all__ = ["MAX_KEY_FILE_BYTES", "account_from_key", "check_private_file", "load_account"]
