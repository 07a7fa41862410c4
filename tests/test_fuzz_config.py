"""Property-based tests: any config file, environment or argument gives Settings or a ConfigurationError."""

from __future__ import annotations

import string
import tempfile
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swan_jupyter.config import ENV_VARS, Settings, load_settings
from swan_jupyter.errors import ConfigurationError

KEYS = sorted(set(ENV_VARS.values()) | {"inherit", "private_key", "password", "bogus", "pool_size", "backoff"})
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**20), st.floats(allow_nan=True), st.text(max_size=30),
    st.sampled_from(["v2", "v3", "https://x.example", "0x" + "a" * 40, "sandbox", "mainnet", "-1", "1e3"]),
)
profile_tables = st.dictionaries(st.sampled_from(KEYS), scalars.filter(lambda v: v is not None), max_size=6)
configs = st.fixed_dictionaries(
    {},
    optional={
        "profile": st.sampled_from(["sandbox", "testnet", "lab", "x", ""]),
        "profiles": st.dictionaries(st.sampled_from(["lab", "testnet", "x", "y"]), profile_tables, max_size=3),
    },
)
CASES = {"n": 0}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs, env_values=st.dictionaries(st.sampled_from(sorted(ENV_VARS)), st.text(max_size=20), max_size=4),
       profile=st.one_of(st.none(), st.sampled_from(["sandbox", "testnet", "lab", "nope"])))
def test_any_config_gives_settings_or_a_configuration_error(
    config: dict[str, Any], env_values: dict[str, str], profile: str | None
) -> None:
    CASES["n"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_bytes(tomli_w.dumps(config).encode())
        try:
            result = load_settings(profile, config_file=path, env=env_values)
        except ConfigurationError as exc:
            assert str(exc).strip() and exc.hint is not None
        else:
            assert isinstance(result, Settings)


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=string.printable, max_size=200))
def test_any_bytes_as_a_config_file(text: str) -> None:
    CASES["n"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_text(text)
        try:
            result = load_settings(config_file=path, env={})
        except ConfigurationError as exc:
            assert str(exc).strip()
        else:
            assert isinstance(result, Settings)
