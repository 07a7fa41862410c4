"""Private keys: refused when the file is open to others, registered wherever they enter, never in a traceback.

Real key files with real modes, a real keystore, and a real IPython shell rendering tracebacks in Verbose mode.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from swan_jupyter.config import load_settings
from swan_jupyter.errors import ConfigurationError
from swan_jupyter.keys import account_from_key, load_account
from swan_jupyter.redact import MASK, Secret, redact
from tests.helpers import TestingShell, env

WRONG_WALLET = "0x" + "1" * 40


def spellings(key_hex: str) -> list[str]:
    """Every way the key's text may show up: with and without 0x, lower and upper case."""
    bare = key_hex.removeprefix("0x")
    return [bare.lower(), bare.upper(), "0x" + bare.lower(), "0x" + bare.upper()]


def write_key(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.fixture
def fresh() -> Iterator[tuple[str, str]]:
    account = Account.create()
    yield "0x" + account.key.hex().removeprefix("0x"), account.address


# -- item 11: a key file or keystore open to others is refused ---------------------------------------------


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o666])
def test_a_key_file_readable_or_writable_by_others_is_refused(tmp_path: Path, fresh: tuple[str, str],
                                                              mode: int) -> None:
    key, address = fresh
    path = write_key(tmp_path / "my wallet.key", key + "\n", mode)
    with pytest.raises(ConfigurationError) as info:
        load_account(load_settings("sandbox", private_key_file=str(path), wallet_address=address))
    text = str(info.value)
    assert "other users" in text and f"chmod 600 '{path}'" in info.value.hint
    assert oct(mode)[2:] in text
    assert all(s not in text for s in spellings(key))


def test_an_owner_only_key_file_is_used(tmp_path: Path, fresh: tuple[str, str]) -> None:
    key, address = fresh
    for mode in (0o600, 0o400):
        path = write_key(tmp_path / f"k{mode:o}.key", "  " + key.upper().replace("0X", "0x") + "\r\n", mode)
        assert load_account(load_settings("sandbox", private_key_file=str(path))).address == address


def test_the_opt_out_setting_accepts_an_open_key_file_with_a_warning(
        tmp_path: Path, fresh: tuple[str, str], caplog: pytest.LogCaptureFixture) -> None:
    key, address = fresh
    path = write_key(tmp_path / "shared.key", key, 0o644)
    with env(SWAN_ALLOW_INSECURE_KEY_FILE="1"):
        assert load_settings("sandbox").allow_insecure_key_file is True
        assert load_account(load_settings("sandbox", private_key_file=str(path))).address == address
    assert "chmod 600" in caplog.text
    config = tmp_path / "config.toml"
    config.write_text('[profiles.lab]\ninherit = "sandbox"\nallow_insecure_key_file = true\n')
    settings = load_settings("lab", config_file=config, private_key_file=str(path))
    assert load_account(settings).address == address
    with pytest.raises(ConfigurationError, match="allow_insecure_key_file"):
        load_settings("sandbox", env={"SWAN_ALLOW_INSECURE_KEY_FILE": "perhaps"})


def test_a_keystore_readable_by_others_is_refused(tmp_path: Path, fresh: tuple[str, str]) -> None:
    key, address = fresh
    path = tmp_path / "keystore.json"
    path.write_text(json.dumps(Account.encrypt(key, "pw-correct-horse", iterations=2)))
    path.chmod(0o644)
    settings = load_settings("sandbox", keystore_file=str(path))
    with env(SWAN_KEYSTORE_PASSWORD="pw-correct-horse"):
        with pytest.raises(ConfigurationError) as info:
            load_account(settings)
        assert f"chmod 600 {path}" in info.value.hint
        path.chmod(0o600)
        assert load_account(settings).address == address


def test_a_symlinked_key_file_is_checked_at_its_target(tmp_path: Path, fresh: tuple[str, str]) -> None:
    key, _ = fresh
    target = write_key(tmp_path / "real.key", key, 0o644)
    link = tmp_path / "link.key"
    link.symlink_to(target)
    with pytest.raises(ConfigurationError, match="other users"):
        load_account(load_settings("sandbox", private_key_file=str(link)))


# -- item 7: every key, password and token is registered where it enters --------------------------------------


def test_keys_from_every_source_are_registered_in_every_spelling(tmp_path: Path) -> None:
    sources = []
    for _ in range(4):
        account = Account.create()
        sources.append(("0x" + account.key.hex().removeprefix("0x"), account.address))
    (k_env, _), (k_file, _), (k_store, _), (k_prompt, _) = sources
    with env(SWAN_PRIVATE_KEY=k_env.removeprefix("0x").upper() + "\n"):
        load_account(load_settings("sandbox"))
    load_account(load_settings("sandbox", private_key_file=str(write_key(tmp_path / "f.key", k_file))))
    store = tmp_path / "store.json"
    store.write_text(json.dumps(Account.encrypt(k_store, "pw-store-1234", iterations=2)))
    store.chmod(0o600)
    with env(SWAN_KEYSTORE_PASSWORD="pw-store-1234"):
        load_account(load_settings("sandbox", keystore_file=str(store)))
    prompted = tmp_path / "prompted.json"
    prompted.write_text(json.dumps(Account.encrypt(k_prompt, "pw-typed-5678", iterations=2)))
    prompted.chmod(0o600)
    load_account(load_settings("sandbox", keystore_file=str(prompted)), prompt=lambda _q: "pw-typed-5678")
    for key, _ in sources:
        for spelling in spellings(key):
            assert redact(f"[{spelling}]") == f"[{MASK}]", spelling
    assert redact("pw-store-1234 pw-typed-5678") == f"{MASK} {MASK}"


def test_account_from_key_registers_and_hides_a_key_given_as_an_argument() -> None:
    account = Account.create()
    raw = account.key.hex().removeprefix("0x")
    assert account_from_key(Secret(raw.upper() + "\n")).address == account.address
    assert account_from_key(raw).address == account.address
    assert redact("0x" + raw) == MASK and redact(raw.upper()) == MASK
    with pytest.raises(ConfigurationError) as info:
        account_from_key("0x" + "zz" + raw[2:])
    assert raw[2:] not in str(info.value) and info.value.__context__ is None
    with pytest.raises(ConfigurationError, match="not a valid"):
        account_from_key("00" * 32)  # zero is no key


def test_transaction_hashes_and_addresses_are_never_masked(fresh: tuple[str, str]) -> None:
    from swan_jupyter.errors import PaymentError

    tx = "0x" + "5e" * 32
    key, address = fresh
    account_from_key(key)
    err = PaymentError(f"Transaction {tx} from {address} is pending.", tx_hashes=[tx],
                       hint=f"Validate it instead of paying again: validate_payment({tx!r}, 'task-1')")
    text = str(err) + "".join(err.summary_lines())
    assert tx in err.message and address in err.message and f"validate_payment({tx!r}" in text


# -- item 9: no key material in a verbose traceback ------------------------------------------------------------


def _verbose(ip: TestingShell) -> None:
    ip.run_line_magic("xmode", "Verbose")
    ip.run_line_magic("config", "SwanMagics.short_errors = False")


def _render(ip: TestingShell, capsys: pytest.CaptureFixture[str], cell: str) -> str:
    capsys.readouterr()
    with pytest.raises(Exception):  # noqa: B017 - any error: what matters is how it was rendered
        ip.run_cell(cell)
    return capsys.readouterr().out


@pytest.mark.parametrize("text", [
    "0x" + "ab" * 31 + "a",        # one digit short
    "0x" + "cd" * 31 + "zz",       # not hex
    "0x" + "ef" * 32 + "\n0x" + "12" * 32,  # two keys pasted
])
def test_a_broken_key_file_never_shows_in_a_verbose_traceback(ip: TestingShell, capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path, text: str) -> None:
    path = write_key(tmp_path / "broken.key", text)
    _verbose(ip)
    try:
        out = _render(ip, capsys, "from swan_jupyter.keys import load_account\n"
                                  "from swan_jupyter.config import load_settings\n"
                                  f"load_account(load_settings('sandbox', private_key_file={str(path)!r}))\n")
    finally:
        ip.run_line_magic("xmode", "Context")
    assert "ConfigurationError" in out and str(path) in out
    for line in text.split("\n"):
        body = line.removeprefix("0x")
        assert body[:40] not in out, out


@pytest.mark.parametrize("source", ["file", "env", "prompt"])
def test_a_valid_key_never_shows_in_a_verbose_traceback(ip: TestingShell, capsys: pytest.CaptureFixture[str],
                                                        tmp_path: Path, fresh: tuple[str, str], source: str) -> None:
    key, _ = fresh
    path = write_key(tmp_path / "wallet.key", key + "\n")
    ip.user_ns["the_key_text"] = Secret(key + "\n")
    call = {
        "file": f"load_account(load_settings('sandbox', private_key_file={str(path)!r}, "
                f"wallet_address={WRONG_WALLET!r}))",
        "env": f"load_account(load_settings('sandbox', wallet_address={WRONG_WALLET!r}))",
        "prompt": f"load_account(load_settings('sandbox', wallet_address={WRONG_WALLET!r}), "
                  "prompt=lambda _q: the_key_text.reveal())",
    }[source]
    _verbose(ip)
    try:
        with env(SWAN_PRIVATE_KEY=key if source == "env" else None):
            out = _render(ip, capsys, "from swan_jupyter.keys import load_account\n"
                                      "from swan_jupyter.config import load_settings\n" + call + "\n")
    finally:
        ip.run_line_magic("xmode", "Context")
    assert "belongs to" in out and WRONG_WALLET in out
    assert all(s not in out for s in spellings(key)), out


def test_any_traceback_rendered_in_the_shell_masks_registered_secrets(
        ip: TestingShell, capsys: pytest.CaptureFixture[str]) -> None:
    secret = Secret("api-key-" + "q" * 20).reveal()
    ip.user_ns["leaky"] = secret
    _verbose(ip)
    try:
        out = _render(ip, capsys, "def f(value):\n    raise ValueError('bad value ' + value)\nf(leaky)\n")
    finally:
        ip.run_line_magic("xmode", "Context")
    assert "ValueError" in out and "bad value" in out
    assert secret not in out, out


def test_a_folder_or_a_huge_file_is_not_taken_for_a_key_file(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o700)
    with pytest.raises(ConfigurationError, match="not a regular file"):
        load_account(load_settings("sandbox", private_key_file=str(folder)))
    huge = write_key(tmp_path / "huge.key", "0" * 200_000)
    with pytest.raises(ConfigurationError, match="too large"):
        load_account(load_settings("sandbox", private_key_file=str(huge)))
    missing = tmp_path / "missing.key"
    with pytest.raises(ConfigurationError, match="Cannot read the private key file"):
        load_account(load_settings("sandbox", private_key_file=str(missing)))


def test_the_traceback_hook_is_installed_once_and_removed_on_unload(ip: TestingShell) -> None:
    from swan_jupyter.magics._render import install as install_traceback_redaction

    hooked = ip.InteractiveTB.structured_traceback
    assert getattr(hooked, "_swan_original", None) is not None
    ip.run_line_magic("reload_ext", "swan_jupyter")
    install_traceback_redaction(ip)
    original = ip.InteractiveTB.structured_traceback._swan_original
    assert getattr(original, "_swan_original", None) is None  # never wrapped twice
    ip.run_line_magic("unload_ext", "swan_jupyter")
    assert getattr(ip.InteractiveTB.structured_traceback, "_swan_original", None) is None
    ip.run_line_magic("load_ext", "swan_jupyter")
