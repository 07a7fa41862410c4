"""One place for configuration: :func:`load_settings` builds a :class:`Settings` from, lowest first,

1. built-in defaults and the built-in profiles (``sandbox``, ``testnet``, ``mainnet``);
2. the user config file (TOML, ``<user config dir>/swan-jupyter/config.toml`` or ``$SWAN_JUPYTER_CONFIG``),
   whose ``[profiles.NAME]`` tables refine built-in profiles or define new ones;
3. environment variables (:data:`ENV_VARS` maps each to its setting; the README has the table);
4. explicit keyword arguments (the magics pass ``%config SwanMagics.*`` values this way).

Config file example::

    profile = "testnet"                  # the default profile

    [profiles.testnet]
    api_key = "sk-..."                   # or SWAN_API_KEY in the environment
    wallet_address = "0xAbC..."
    private_key_file = "~/.config/swan/wallet.key"
    max_payment = "50"                   # SWAN per payment
    abaco_url = "https://tacc.tapis.io"
    abaco_flavor = "v3"

    [profiles.lab]
    inherit = "mainnet"
    read_timeout = 60

Credentials (``api_key``, ``abaco_token``) are stripped of surrounding whitespace wherever they come from; a
control character inside one is refused (see :func:`swan_jupyter.redact.credential`).

``chain_id``, ``client_payment_address``, ``swan_token_address`` (``SWAN_CHAIN_ID``, ``SWAN_CLIENT_PAYMENT_ADDRESS``,
``SWAN_TOKEN_ADDRESS``): what the payer trusts. The Orchestrator's ``/contract_info`` names the contract that is
approved to pull SWAN and the chain's RPC; a payment is refused (nothing signed) when the RPC's chain id or an
address it names differs from a pinned value. ``mainnet`` pins chain 254 and ``testnet`` 20241133; the sandbox
pins its own chain and contracts from ``sandbox.json``.

``allow_insecure_key_file`` (``SWAN_ALLOW_INSECURE_KEY_FILE=1``; default false): use a key file or keystore that
other users may read or write, with a warning, instead of refusing it. Leave it off: such a key is not private.

Private keys are never settings: they come from ``SWAN_PRIVATE_KEY``, a key file, an encrypted keystore or a
prompt (see :mod:`swan_jupyter.keys`). A ``private_key`` entry in the config file is refused.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigurationError
from .numbers import MAX_SWAN, UINT256_MAX, NumberError, parse_decimal, parse_float, parse_int, shown
from .redact import Secret, credential, mask
from .sandbox_contract import DESCRIPTION_FILE

APP_NAME = "swan-jupyter"

Flavor = Literal["v2", "v3"]

BUILTIN_PROFILES: dict[str, dict[str, Any]] = {
    "sandbox": {},
    "testnet": {"orchestrator_url": "https://swanhub-cali.swanchain.io", "abaco_flavor": "v3", "chain_id": 20241133},
    "mainnet": {"orchestrator_url": "https://orchestrator-mainnet-api.swanchain.io", "abaco_flavor": "v3",
                "chain_id": 254},
}

ENV_VARS: dict[str, str] = {
    "SWAN_API_KEY": "api_key",
    "SWAN_ORCHESTRATOR_URL": "orchestrator_url",
    "SWAN_WALLET_ADDRESS": "wallet_address",
    "SWAN_CHAIN_ID": "chain_id",
    "SWAN_CLIENT_PAYMENT_ADDRESS": "client_payment_address",
    "SWAN_TOKEN_ADDRESS": "swan_token_address",
    "SWAN_PRIVATE_KEY_FILE": "private_key_file",
    "SWAN_KEYSTORE_FILE": "keystore_file",
    "SWAN_CHAIN_RPC_URL": "chain_rpc_url",
    "SWAN_MAX_PAYMENT": "max_payment",
    "SWAN_MAX_SESSION_SPEND": "max_session_spend",
    "SWAN_CONNECT_TIMEOUT": "connect_timeout",
    "SWAN_READ_TIMEOUT": "read_timeout",
    "SWAN_RETRIES": "retries",
    "SWAN_SANDBOX_STATE": "sandbox_state_dir",
    "ABACO_URL": "abaco_url",
    "ABACO_TOKEN": "abaco_token",
    "ABACO_FLAVOR": "abaco_flavor",
    "ABACO_TENANT": "abaco_tenant",
    "ABACO_USER": "sandbox_user",
    "SWAN_ALLOW_INSECURE_KEY_FILE": "allow_insecure_key_file",
}

_SECRET_FIELDS = frozenset({"api_key", "abaco_token"})
_PATH_FIELDS = frozenset({"private_key_file", "keystore_file", "sandbox_state_dir", "ledger_path"})
_DECIMAL_FIELDS = frozenset({"max_payment", "max_session_spend"})
_FLOAT_FIELDS = frozenset({"connect_timeout", "read_timeout", "backoff"})
_INT_FIELDS = frozenset({"retries", "pool_size", "chain_id"})
_URL_FIELDS = frozenset({"orchestrator_url", "abaco_url", "chain_rpc_url"})
_BOOL_FIELDS = frozenset({"allow_insecure_key_file"})
_ADDRESS_FIELDS = frozenset({"wallet_address", "client_payment_address", "swan_token_address"})
#: The largest value of each numeric setting (every input is bounded).
_MAXIMA: dict[str, Any] = {"connect_timeout": 86_400.0, "read_timeout": 86_400.0, "backoff": 3_600.0, "retries": 100,
                           "pool_size": 1_000, "chain_id": UINT256_MAX}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_FORBIDDEN_KEYS = {
    "private_key": "put the key in a file and set private_key_file (or SWAN_PRIVATE_KEY_FILE)",
    "password": "the keystore password is asked with a prompt, or read from SWAN_KEYSTORE_PASSWORD",
}


def user_config_path() -> Path:
    """Where the user config file lives (``$SWAN_JUPYTER_CONFIG`` overrides)."""
    override = os.environ.get("SWAN_JUPYTER_CONFIG")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_sandbox_state_dir() -> Path:
    """The sandbox's state folder when neither ``--state`` nor ``SWAN_SANDBOX_STATE`` says otherwise."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME)) / "sandbox"


def _default_ledger() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME)) / "payments.sqlite"


@dataclass(frozen=True)
class Settings:
    """The active configuration. Build it with :func:`load_settings`; it is immutable (use :meth:`replace`).

    Secrets (``api_key``, ``abaco_token``) are :class:`~swan_jupyter.redact.Secret` values and never print.
    ``sources`` maps each field that was set to where it came from (``profile``, ``file``, ``env``, ``argument``,
    ``sandbox``).
    """

    profile: str = "sandbox"
    orchestrator_url: str | None = None
    api_key: Secret | None = None
    wallet_address: str | None = None
    private_key_file: Path | None = None
    keystore_file: Path | None = None
    chain_rpc_url: str | None = None
    chain_id: int | None = None
    client_payment_address: str | None = None
    swan_token_address: str | None = None
    abaco_url: str | None = None
    abaco_token: Secret | None = None
    abaco_flavor: Flavor = "v3"
    abaco_tenant: str | None = None
    sandbox_user: str = "admin"
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.25
    pool_size: int = 32
    max_payment: Decimal | None = None
    max_session_spend: Decimal | None = None
    sandbox_state_dir: Path = field(default_factory=default_sandbox_state_dir)
    ledger_path: Path | None = None
    allow_insecure_key_file: bool = False
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def is_sandbox(self) -> bool:
        """True when this profile talks to the local sandbox."""
        return self.profile == "sandbox"

    @property
    def ledger_file(self) -> Path:
        """The payment ledger (SQLite): next to the sandbox state for the sandbox profile."""
        if self.ledger_path is not None:
            return self.ledger_path
        if self.is_sandbox:
            return self.sandbox_state_dir / "payments.sqlite"
        return _default_ledger()

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied (validated like any other source)."""
        merged = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "sources"}
        sources = dict(self.sources)
        for key, value in changes.items():
            merged[key] = _coerce(key, value, "argument")
            sources[key] = "argument"
        return Settings(**merged, sources=sources)

    def describe(self) -> dict[str, str]:
        """A display-safe view: every field as text, secrets masked, with its source."""
        out: dict[str, str] = {}
        for f in fields(self):
            if f.name == "sources":
                continue
            value = getattr(self, f.name)
            if f.name in _SECRET_FIELDS:
                text = mask(value)
            elif value is None:
                text = "(not set)"
            else:
                text = str(value)
            source = self.sources.get(f.name, "default")
            out[f.name] = f"{text}  [{source}]"
        return out

    def __repr__(self) -> str:
        inner = ", ".join(
            f"{k}={mask(getattr(self, k)) if k in _SECRET_FIELDS else getattr(self, k)!r}"
            for k in ("profile", "orchestrator_url", "api_key", "abaco_url", "abaco_token", "abaco_flavor")
        )
        return f"Settings({inner})"


def _coerce(key: str, value: Any, source: str) -> Any:
    """Validate and convert one raw value for field ``key``; raise ConfigurationError naming the fix."""
    _check_key(key, source)
    if value is None:
        return None
    try:
        if key in _SECRET_FIELDS:
            return credential(value if isinstance(value, Secret) else str(value), f"setting '{key}' ({source})")
        for kinds, convert in _CONVERTERS:
            if key in kinds:
                return convert(key, value, source)
    except ConfigurationError:
        raise
    except NumberError as exc:
        raise ConfigurationError(f"Setting '{key}' {shown(value)} {exc.problem} ({source}).", hint=exc.hint) from None
    except (ValueError, InvalidOperation, TypeError, RuntimeError):  # RuntimeError: "~user" of no such user
        raise ConfigurationError(
            f"Setting '{key}' has an invalid value {shown(value)} ({source}).",
            hint=f"Give '{key}' a positive number" + (" of seconds." if "timeout" in key else "."),
        ) from None
    return str(value)


def _check_key(key: str, source: str) -> None:
    """Refuse forbidden keys (a private key is never a setting) and unknown ones (with the closest match)."""
    valid = {f.name for f in fields(Settings)} - {"sources"}
    if key in _FORBIDDEN_KEYS:
        raise ConfigurationError(f"'{key}' is not accepted as a setting ({source}).", hint=_FORBIDDEN_KEYS[key])
    if key not in valid:
        import difflib  # here, not at the top: loading the extension would import it for nothing

        close = difflib.get_close_matches(key, sorted(valid), n=1)
        suggestion = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigurationError(
            f"Unknown setting '{key}' ({source}).{suggestion}",
            hint="Valid settings: " + ", ".join(sorted(valid)),
        )


def _to_bool(key: str, value: Any, source: str) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word not in _TRUE | _FALSE:
        raise ConfigurationError(
            f"Setting '{key}' must be true or false, got {value!r} ({source}).",
            hint=f"Write {key} = true in the config file, or 1/0 in the environment variable.",
        )
    return word in _TRUE


def _to_decimal(key: str, value: Any, source: str) -> Decimal:
    if isinstance(value, float):
        raise ConfigurationError(
            f"'{key}' must be a decimal string or an integer, not a float ({source}).",
            hint=f'Write it as a string, e.g. {key} = "12.5".',
        )
    return parse_decimal(value, key, minimum=0, maximum=MAX_SWAN)


def _to_float(key: str, value: Any, source: str) -> float:
    return parse_float(value, key, maximum=_MAXIMA[key])


def _to_int(key: str, value: Any, source: str) -> int:
    return parse_int(value, key, minimum=0, maximum=_MAXIMA[key])


def _to_url(key: str, value: Any, source: str) -> str:
    text = str(value).strip().rstrip("/")
    if not (text.startswith("http://") or text.startswith("https://")):
        raise ConfigurationError(
            f"Setting '{key}' must be an http(s) URL, got {text!r} ({source}).",
            hint=f"Write the full URL, e.g. {key} = \"https://example.org\".",
        )
    return text


def _to_flavor(key: str, value: Any, source: str) -> str:
    text = str(value).strip().lower()
    if text not in ("v2", "v3"):
        raise ConfigurationError(
            f"abaco_flavor must be 'v2' or 'v3', got {value!r} ({source}).",
            hint="Use v2 for Agave-era servers (/actors/v2) and v3 for Tapis (/v3/actors).",
        )
    return text


def _to_address(key: str, value: Any, source: str) -> str:
    text = str(value).strip()
    hexdigits = text[2:]
    if not (text.startswith("0x") and len(text) == 42 and all(c in "0123456789abcdefABCDEF" for c in hexdigits)):
        raise ConfigurationError(
            f"{key} {text!r} is not an Ethereum address ({source}).",
            hint="An address is 0x followed by 40 hex digits.",
        )
    return text


_CONVERTERS: tuple[tuple[frozenset[str], Callable[[str, Any, str], Any]], ...] = (
    (_BOOL_FIELDS, _to_bool), (_PATH_FIELDS, lambda _k, v, _s: Path(str(v)).expanduser()),
    (_DECIMAL_FIELDS, _to_decimal), (_FLOAT_FIELDS, _to_float), (_INT_FIELDS, _to_int), (_URL_FIELDS, _to_url),
    (frozenset({"abaco_flavor"}), _to_flavor), (_ADDRESS_FIELDS, _to_address),
)



def read_config_file(path: Path | None = None) -> dict[str, Any]:
    """Parse the user config file; a missing file is an empty config."""
    path = path or user_config_path()
    if not path.exists():
        return {}
    if sys.version_info >= (3, 11):  # here, not at the top: without a config file, loading never needs it
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(
            f"The config file {path} is not valid TOML: {exc}", hint="Fix the syntax at the line shown."
        ) from None
    except OSError as exc:
        raise ConfigurationError(f"Cannot read the config file {path}: {exc.strerror}.") from None
    unknown = set(data) - {"profile", "profiles"}
    if unknown:
        raise ConfigurationError(
            f"The config file {path} has unknown top-level keys: {', '.join(sorted(unknown))}.",
            hint="Only 'profile' and [profiles.NAME] tables are allowed at the top level.",
        )
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise ConfigurationError(
            f"In {path}, 'profiles' must hold tables like [profiles.testnet].",
            hint="See the Configuration section of the README.",
        )
    return data


def _profile_chain(
    name: str, file_profiles: Mapping[str, Any], seen: tuple[str, ...] = ()
) -> list[tuple[str, dict[str, Any]]]:
    """The layers of a profile as (source, values), base first, following ``inherit``."""
    if name in seen:
        raise ConfigurationError(
            f"Profile '{name}' inherits from itself ({' -> '.join((*seen, name))}).",
            hint="Remove the cycle in the 'inherit' keys.",
        )
    layers: list[tuple[str, dict[str, Any]]] = []
    user = dict(file_profiles.get(name, {}))
    parent = user.pop("inherit", None)
    if parent is not None:
        parent_name = str(parent)
        if parent_name not in BUILTIN_PROFILES and parent_name not in file_profiles:
            raise ConfigurationError(
                f"Profile '{name}' inherits from unknown profile '{parent_name}'.",
                hint="Known profiles: " + ", ".join(sorted({*BUILTIN_PROFILES, *file_profiles})),
            )
        layers.extend(_profile_chain(parent_name, file_profiles, (*seen, name)))
    if name in BUILTIN_PROFILES:
        layers.append(("profile", dict(BUILTIN_PROFILES[name])))
    layers.append(("file", user))
    return layers


def load_settings(
    profile: str | None = None,
    *,
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the active :class:`Settings` (defaults < profile < config file < environment < arguments).

    ``profile`` (else ``$SWAN_PROFILE``, else the file's ``profile``, else ``"sandbox"``) selects the
    profile. Keyword arguments override everything; ``None`` values are ignored. Raises
    :class:`~swan_jupyter.errors.ConfigurationError` naming the bad key, its source and the fix.
    """
    env = os.environ if env is None else env
    data = read_config_file(config_file)
    file_profiles: dict[str, Any] = data.get("profiles", {})
    name = profile or env.get("SWAN_PROFILE") or data.get("profile") or "sandbox"
    if name not in BUILTIN_PROFILES and name not in file_profiles:
        raise ConfigurationError(
            f"Unknown profile '{name}'.",
            hint="Known profiles: "
            + ", ".join(sorted({*BUILTIN_PROFILES, *file_profiles}))
            + f". Define new ones as [profiles.{name}] in {config_file or user_config_path()}.",
        )
    values: dict[str, Any] = {"profile": name}
    sources: dict[str, str] = {"profile": "argument" if profile else ("env" if env.get("SWAN_PROFILE") else "default")}
    for src, layer in _profile_chain(name, file_profiles):
        where = f"profile '{name}' in the config file" if src == "file" else f"built-in profile '{name}'"
        for key, raw in layer.items():
            values[key] = _coerce(key, raw, where)
            sources[key] = src
    for var, key in ENV_VARS.items():
        raw_env = env.get(var)
        if raw_env not in (None, ""):
            values[key] = _coerce(key, raw_env, f"environment variable {var}")
            sources[key] = "env"
    for key, raw in overrides.items():
        if raw is None:
            continue
        values[key] = _coerce(key, raw, "argument")
        sources[key] = "argument"
    return Settings(**values, sources=sources)


# ---- the sandbox description (sandbox.json) ---------------------------------------------------------------


def read_sandbox_description(state_dir: Path) -> dict[str, Any] | None:
    """The parsed ``sandbox.json`` of a sandbox state folder, or None when there is none."""
    path = state_dir / DESCRIPTION_FILE
    try:
        return dict(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"The sandbox description {path} is unreadable: {exc}.",
            hint="Restart the sandbox: swan-jupyter sandbox stop && swan-jupyter sandbox start",
        ) from None


#: Stands for the ``sandbox_user`` setting (``admin``, ``user``, ...) in a :data:`SANDBOX_FIELDS` path.
SANDBOX_USER = object()
#: Each setting a sandbox fills, and where ``sandbox.json`` holds it.
SANDBOX_FIELDS: dict[str, tuple[Any, ...]] = {
    "orchestrator_url": ("orchestrator", "url"), "api_key": ("orchestrator", "api_key"),
    "abaco_url": ("abaco", "url"), "abaco_token": ("abaco", "users", SANDBOX_USER, "token"),
    "abaco_tenant": ("abaco", "tenant"), "chain_rpc_url": ("chain", "rpc_url"), "chain_id": ("chain", "chain_id"),
    "wallet_address": ("chain", "wallet", "address"), "private_key_file": ("chain", "wallet", "private_key_file"),
    "client_payment_address": ("chain", "client_payment"), "swan_token_address": ("chain", "swan_token"),
}


def _dig(description: Mapping[str, Any], path: list[Any]) -> Any:
    """The value at ``path`` in the nested mappings of ``description``; None where a step is missing."""
    value: Any = description
    for step in path:
        value = value.get(step) if isinstance(value, Mapping) else None
    return value


def apply_sandbox(settings: Settings, description: Mapping[str, Any]) -> Settings:
    """Fill the unset endpoints and credentials of a sandbox profile from ``sandbox.json`` (:data:`SANDBOX_FIELDS`:
    a value the sandbox does not give, or gives empty, leaves the setting unset)."""
    changes: dict[str, Any] = {}
    for name, path in SANDBOX_FIELDS.items():
        if getattr(settings, name) is None:
            value = _dig(description, [settings.sandbox_user if step is SANDBOX_USER else step for step in path])
            if value is not None and value != "":
                changes[name] = value
    if not changes:
        return settings
    merged = {f.name: getattr(settings, f.name) for f in fields(settings) if f.name != "sources"}
    sources = dict(settings.sources)
    for key, value in changes.items():
        merged[key] = _coerce(key, value, "sandbox.json")
        sources[key] = "sandbox"
    return Settings(**merged, sources=sources)


__all__ = [
    "BUILTIN_PROFILES",
    "ENV_VARS",
    "Settings",
    "apply_sandbox",
    "default_sandbox_state_dir",
    "load_settings",
    "read_config_file",
    "read_sandbox_description",
    "user_config_path",
]
