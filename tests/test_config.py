"""Configuration precedence, profiles, validation and secret masking."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from swan_jupyter.config import apply_sandbox, load_settings
from swan_jupyter.errors import ConfigurationError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_select_the_sandbox_profile(tmp_path: Path) -> None:
    s = load_settings(config_file=tmp_path / "missing.toml", env={})
    assert s.profile == "sandbox" and s.is_sandbox
    assert s.orchestrator_url is None and s.abaco_flavor == "v3"
    assert s.sources["profile"] == "default"


def test_precedence_builtin_file_env_argument(tmp_path: Path) -> None:
    cfg = write(tmp_path, """
profile = "testnet"
[profiles.testnet]
read_timeout = 12
abaco_url = "https://file.example"
max_payment = "7.5"
""")
    s = load_settings(config_file=cfg, env={})
    assert s.profile == "testnet"
    assert s.orchestrator_url == "https://swanhub-cali.swanchain.io"  # built-in profile
    assert s.sources["orchestrator_url"] == "profile"
    assert s.read_timeout == 12.0 and s.sources["read_timeout"] == "file"
    assert s.max_payment == Decimal("7.5")
    s = load_settings(config_file=cfg, env={"ABACO_URL": "https://env.example", "SWAN_READ_TIMEOUT": "20"})
    assert s.abaco_url == "https://env.example" and s.sources["abaco_url"] == "env"
    assert s.read_timeout == 20.0
    s = load_settings(config_file=cfg, env={"ABACO_URL": "https://env.example"}, abaco_url="https://arg.example")
    assert s.abaco_url == "https://arg.example" and s.sources["abaco_url"] == "argument"
    s = load_settings("mainnet", config_file=cfg, env={"SWAN_PROFILE": "sandbox"})
    assert s.profile == "mainnet" and s.orchestrator_url == "https://orchestrator-mainnet-api.swanchain.io"


def test_env_profile_and_user_profile_with_inherit(tmp_path: Path) -> None:
    cfg = write(tmp_path, """
[profiles.lab]
inherit = "mainnet"
abaco_flavor = "v2"
abaco_url = "https://api.tacc.utexas.edu/actors/v2"
""")
    s = load_settings(config_file=cfg, env={"SWAN_PROFILE": "lab"})
    assert s.profile == "lab" and s.sources["profile"] == "env"
    assert s.orchestrator_url == "https://orchestrator-mainnet-api.swanchain.io"
    assert s.abaco_flavor == "v2"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[profiles.x]\nread_timout = 3', "Did you mean 'read_timeout'"),
        ('[profiles.x]\nprivate_key = "0xabc"', "private_key_file"),
        ('[profiles.x]\nabaco_flavor = "v4"', "v2 or v3"),
        ('[profiles.x]\norchestrator_url = "ftp://x"', "http(s) URL"),
        ('[profiles.x]\nmax_payment = 1.5', "not a float"),
        ('[profiles.x]\nread_timeout = -1', "positive number"),
        ('[profiles.x]\nwallet_address = "0x123"', "not an Ethereum address"),
        ('[profiles.x]\ninherit = "nope"', "unknown profile 'nope'"),
        ("[profiles.x\n", "not valid TOML"),
        ('colour = "red"', "unknown top-level keys"),
    ],
)
def test_bad_config_files_name_the_problem(tmp_path: Path, text: str, needle: str) -> None:
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigurationError) as info:
        load_settings("x" if "profiles.x]" in text or "profiles.x\n" in text else None, config_file=cfg, env={})
    assert needle.lower().replace("v2 or v3", "'v2' or 'v3'") in str(info.value).lower() or needle in str(
        info.value
    )


def test_unknown_profile_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings("prod", config_file=tmp_path / "none.toml", env={})
    assert "Unknown profile 'prod'" in str(info.value) and "testnet" in str(info.value)


def test_secrets_never_print(tmp_path: Path) -> None:
    key = "sk-secret-" + "z" * 20
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0dXNlciJ9.c2lnbmF0dXJlc2lnbmF0dXJl"
    s = load_settings(config_file=tmp_path / "none.toml", env={"SWAN_API_KEY": key, "ABACO_TOKEN": token})
    assert s.api_key is not None and s.api_key.reveal() == key
    for text in (repr(s), str(s), str(s.describe()), repr(s.api_key), str(s.abaco_token)):
        assert key not in text and token not in text


def test_sandbox_description_fills_only_unset_values(tmp_path: Path) -> None:
    description = {
        "orchestrator": {"url": "http://127.0.0.1:1111", "api_key": "sandbox-key-123"},
        "abaco": {"url": "http://127.0.0.1:2222", "tenant": "SANDBOX",
                  "users": {"admin": {"username": "admin", "token": "tok-admin-123"},
                            "user": {"username": "user", "token": "tok-user-456"}}},
        "chain": {"rpc_url": "http://127.0.0.1:3333", "chain_id": 31337, "client_payment": "0x" + "2" * 40,
                  "swan_token": "0x" + "3" * 40,
                  "wallet": {"address": "0x" + "1" * 40, "private_key_file": str(tmp_path / "wallet.key")}},
    }
    s = load_settings(config_file=tmp_path / "none.toml", env={"ABACO_USER": "user"})
    s = apply_sandbox(s, description)
    filled = {"orchestrator_url", "api_key", "abaco_url", "abaco_token", "abaco_tenant", "wallet_address",
              "private_key_file", "chain_rpc_url", "chain_id", "client_payment_address", "swan_token_address"}
    assert {key for key, source in s.sources.items() if source == "sandbox"} == filled
    assert s.abaco_tenant == "SANDBOX" and s.chain_id == 31337 and s.wallet_address == "0x" + "1" * 40
    assert s.client_payment_address == "0x" + "2" * 40 and s.swan_token_address == "0x" + "3" * 40
    assert s.api_key is not None and s.api_key.reveal() == "sandbox-key-123" and s.abaco_url == "http://127.0.0.1:2222"
    assert s.orchestrator_url == "http://127.0.0.1:1111" and s.sources["orchestrator_url"] == "sandbox"
    assert s.abaco_token is not None and s.abaco_token.reveal() == "tok-user-456"
    assert s.chain_rpc_url == "http://127.0.0.1:3333"
    assert s.private_key_file == tmp_path / "wallet.key"
    s2 = apply_sandbox(load_settings(config_file=tmp_path / "none.toml", env={"ABACO_URL": "https://mine.example"}),
                       description)
    assert s2.abaco_url == "https://mine.example"


def test_replace_validates(tmp_path: Path) -> None:
    s = load_settings(config_file=tmp_path / "none.toml", env={})
    assert s.replace(retries=5).retries == 5
    with pytest.raises(ConfigurationError):
        s.replace(abaco_flavor="v9")


def test_a_home_of_no_such_user_is_a_configuration_error() -> None:
    """``~user`` of a user that does not exist: expanduser raises RuntimeError; found by the config fuzz test."""
    from swan_jupyter.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="sandbox_state_dir"):
        load_settings(env={"SWAN_SANDBOX_STATE": "~no-such-user-swan-jupyter"})
