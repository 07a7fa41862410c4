"""Where private keys come from: never from a magic's arguments, a cell, or the config file.

:func:`load_account` tries, in order:

1. the ``SWAN_PRIVATE_KEY`` environment variable (hex, with or without ``0x``);
2. the key file of the profile (``private_key_file`` / ``SWAN_PRIVATE_KEY_FILE``; hex text; it should be
   readable by its owner only, and a warning is logged otherwise);
3. an encrypted keystore (``keystore_file`` / ``SWAN_KEYSTORE_FILE``), decrypted with
   ``SWAN_KEYSTORE_PASSWORD`` or a password prompt (``getpass``);
4. a ``getpass`` prompt for the key itself, when a prompt is allowed.

The returned account object keeps the key; its repr does not show it. eth-account is imported only here,
when a payment actually needs a key.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import ConfigurationError
from .redact import register

log = logging.getLogger("swan_jupyter.keys")

Prompt = Callable[[str], str]


def _normalise(raw: str, where: str) -> str:
    key = raw.strip()
    if key.startswith(("0x", "0X")):
        key = key[2:]
    if len(key) != 64:
        raise ConfigurationError(
            f"The private key from {where} is not 32 bytes of hex ({len(key)} hex digits found).",
            hint="A private key is 64 hex digits, optionally prefixed with 0x.",
        )
    try:
        int(key, 16)
    except ValueError:
        raise ConfigurationError(
            f"The private key from {where} contains non-hex characters.",
            hint="A private key is 64 hex digits, optionally prefixed with 0x.",
        ) from None
    register(key)
    register("0x" + key)
    return "0x" + key


def _account_from_key(key: str) -> Any:
    from eth_account import Account

    return Account.from_key(key)


def load_account(settings: Settings, *, prompt: Prompt | None = None, allow_prompt: bool = True) -> Any:
    """Return an eth-account ``LocalAccount`` for paying, from the sources listed in the module docstring.

    Raises :class:`~swan_jupyter.errors.ConfigurationError` when no source gives a key, or when the key does
    not belong to ``settings.wallet_address`` (compared case-insensitively).
    """
    ask = prompt or getpass.getpass
    account: Any = None
    env_key = os.environ.get("SWAN_PRIVATE_KEY")
    if env_key:
        account = _account_from_key(_normalise(env_key, "SWAN_PRIVATE_KEY"))
    elif settings.private_key_file is not None:
        path = Path(settings.private_key_file)
        try:
            mode = path.stat().st_mode
            raw = path.read_text()
        except OSError as exc:
            raise ConfigurationError(
                f"Cannot read the private key file {path}: {exc.strerror}.",
                hint="Check private_key_file (or SWAN_PRIVATE_KEY_FILE) in your profile.",
            ) from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("private key file %s is readable by other users; run: chmod 600 %s", path, path)
        account = _account_from_key(_normalise(raw, f"the key file {path}"))
    elif settings.keystore_file is not None:
        path = Path(settings.keystore_file)
        try:
            keystore = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"Cannot read the keystore {path}: {exc}.") from None
        password = os.environ.get("SWAN_KEYSTORE_PASSWORD")
        if password is None:
            if not allow_prompt:
                raise ConfigurationError(
                    f"The keystore {path} needs a password and prompting is not allowed here.",
                    hint="Set SWAN_KEYSTORE_PASSWORD in the kernel's environment.",
                )
            password = ask(f"Password for keystore {path.name}: ")
        from eth_account import Account

        try:
            raw_key = Account.decrypt(keystore, password)
        except ValueError:
            raise ConfigurationError(
                f"Could not decrypt the keystore {path}: wrong password or damaged file."
            ) from None
        finally:
            password = None
        account = _account_from_key(_normalise(bytes(raw_key).hex(), f"the keystore {path}"))
    elif allow_prompt:
        raw = ask("Private key for the paying wallet (input hidden): ")
        if not raw:
            raise ConfigurationError("No private key was entered.")
        account = _account_from_key(_normalise(raw, "the prompt"))
    else:
        raise ConfigurationError(
            "No private key is configured for paying.",
            hint="Set SWAN_PRIVATE_KEY_FILE (a file holding the hex key, chmod 600), SWAN_KEYSTORE_FILE, or "
            "SWAN_PRIVATE_KEY in the kernel's environment. Never put a key in a cell.",
        )
    if settings.wallet_address and account.address.lower() != settings.wallet_address.lower():
        raise ConfigurationError(
            f"The private key belongs to {account.address}, not to the configured wallet {settings.wallet_address}.",
            hint="Use the key of the configured wallet, or set wallet_address to the key's address.",
        )
    return account
