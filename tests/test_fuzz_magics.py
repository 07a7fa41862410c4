"""Property-based: any %swan / %swan_deploy line ends in a UsageError or a SwanJupyterError, never a traceback."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

from swan_jupyter.errors import SwanJupyterError
from tests.helpers import TestingShell

TOKENS = ["--app", "hello-world", "--hardware", "C1ae.small", "G1ae.small", "nope", "--region", "global",
          "Quebec-CA", "Mars", "--duration", "1h", "10m", "-5", "abc", "9999999999999", "--no-pay", "--yes",
          "--repo", "ftp://x", "https://github.com/a/b", "--source-uri", "--branch", "'quoted arg'", '"',
          "--timeout", "0", "hardware", "tasks", "status", "url", "renew", "terminate", "ledger", "apps",
          "00000000-0000-0000-0000-000000000000", "--page", "0", "--size", "1000", "{", "}", "$x", "--help"]
CASES = {"n": 0, "usage": 0, "swan": 0, "ok": 0}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(magic=st.sampled_from(["swan_deploy", "swan"]), words=st.lists(st.sampled_from(TOKENS), max_size=7),
       text=st.text(max_size=12))
def test_any_magic_line_fails_cleanly(sandbox: dict[str, Any], ip: TestingShell, magic: str, words: list[str],
                                      text: str) -> None:
    if "--yes" in words and "--no-pay" not in words:
        words = [w for w in words if w != "--yes"]  # never pay from a fuzzer
    if magic == "swan" and words and words[0] in ("renew", "terminate"):
        words = ["status", *words[1:]]
    line = " ".join([*words, text.replace("\n", " ")])
    CASES["n"] += 1
    try:
        ip.run_line_magic(magic, line)
        CASES["ok"] += 1
    except UsageError:
        CASES["usage"] += 1
    except SwanJupyterError as exc:
        assert str(exc).strip()
        CASES["swan"] += 1


def test_report_magic_fuzz_counts() -> None:
    print(f"\nmagic-line fuzz cases: {CASES}")
