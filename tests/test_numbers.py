"""Hostile numbers, from a server or a user, get the project's own error naming the field, at once.

Each case reproduced on main (issue 20, item 6) goes through its real entry point: the Orchestrator answer readers
(a real HTTP server on 127.0.0.1), the magics in a real IPython shell, the settings, and ``%config``. The wall-clock
bounds are guards against hanging (``price_to_wei("1e10000000")`` took about 55 s on main), not performance tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swan_jupyter.config import load_settings
from swan_jupyter.errors import ConfigurationError, ProtocolError, SwanJupyterError, ValidationError
from swan_jupyter.numbers import MAX_DIGITS, UINT256_MAX, NumberError, parse_decimal, parse_float, parse_int
from swan_jupyter.orchestrator import SwanSdk
from swan_jupyter.orchestrator import _wire as wire
from swan_jupyter.orchestrator.amounts import parse_duration, price_to_wei, swan_to_wei
from tests.helpers import ScriptedServer, TestingShell
from tests.test_orchestrator_answers import client, hardware_answer, ok

HUGE_EXPONENT = "1e10000000"
DIGITS_5000 = "1" * 5000
DIGITS_4400 = "1" * 4400
NOT_ASCII_NUMBERS = ["²", "٣", "\uff11\uff12", "--5", "+-5", "-+5", "1_000", " 5\u00a05", "\u20055", "5\u2005",
                     "5 5", "", " ", "0x10", "1,5", "inf", "nan", "Infinity", "NaN", "1e", ".", "+", "-", "1.2.3",
                     "\x005", "5\x00", "٣٦٠٠", "\U0001d7d3", "1e\uff11"]


def fast(call: Callable[[], Any], limit: float = 1.0) -> Any:
    """``call()``'s exception (or result), checking it came back within ``limit`` seconds (a hang guard)."""
    start = time.perf_counter()
    try:
        result: Any = call()
    except Exception as exc:  # the caller checks the type
        result = exc
    assert time.perf_counter() - start < limit, f"took {time.perf_counter() - start:.1f} s"
    return result


# -- the reader ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", NOT_ASCII_NUMBERS)
def test_the_reader_takes_ascii_digits_only(text: str) -> None:
    for read in (lambda: parse_int(text, "hardware_id", minimum=None), lambda: parse_decimal(text, "price",
                                                                                               minimum=None)):
        error = fast(read)
        assert isinstance(error, NumberError) and isinstance(error, ValidationError), error
        assert error.field in error.message


@pytest.mark.parametrize(("text", "problem"), [
    (DIGITS_5000, "5000 characters"), ("1" * 90, "90 digits"), (HUGE_EXPONENT, "exponent"),
    ("1e-1000", "exponent"), ("0e999999999", "exponent"), ("1" + "0" * 95 + ".5", "digits"),
])
def test_the_reader_bounds_digits_and_exponents(text: str, problem: str) -> None:
    error = fast(lambda: parse_decimal(text, "max_payment"))
    assert isinstance(error, NumberError) and "max_payment" in error.message and problem in error.message


def test_the_reader_bounds_python_values_too() -> None:
    assert isinstance(fast(lambda: parse_int(10**5000, "duration")), NumberError)
    assert isinstance(fast(lambda: parse_int(True, "duration")), NumberError)
    assert isinstance(fast(lambda: parse_decimal(Decimal(HUGE_EXPONENT), "price")), NumberError)
    assert isinstance(fast(lambda: parse_decimal(Decimal("Infinity"), "price")), NumberError)
    assert isinstance(fast(lambda: parse_decimal(10**5000, "price")), NumberError)
    assert isinstance(fast(lambda: parse_decimal(0.5, "price")), NumberError)  # floats are not exact
    assert parse_decimal(0.5, "price", allow_float=True) == Decimal("0.5")
    assert isinstance(fast(lambda: parse_float("1e999", "read_timeout", maximum=86400)), NumberError)
    assert parse_int(UINT256_MAX, "amount") == UINT256_MAX
    with pytest.raises(NumberError, match="above the maximum"):
        parse_int(UINT256_MAX + 1, "amount")


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=120), st.text(alphabet="0123456789+-.eE_ \t\n²٣\uff11", max_size=120)))
def test_the_reader_never_raises_anything_but_the_projects_errors(text: str) -> None:
    for read in (parse_int, parse_decimal):
        try:
            read(text, "field", minimum=None)
        except SwanJupyterError as exc:
            assert "field" in exc.message
    try:
        parse_float(text, "field", maximum=1e9)
    except SwanJupyterError as exc:
        assert "field" in exc.message


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-(10**MAX_DIGITS) + 1, max_value=10**MAX_DIGITS - 1), st.sampled_from(["", " ", "\n"]))
def test_the_reader_agrees_with_int_for_valid_integers(number: int, space: str) -> None:
    assert parse_int(f"{space}{number}{space}", "n", minimum=None, maximum=None) == int(str(number))
    assert parse_int(number, "n", minimum=None, maximum=None) == number


@settings(max_examples=300, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, places=None)
       .filter(lambda d: len(d.as_tuple().digits) <= MAX_DIGITS and abs(d.as_tuple().exponent) <= 100))  # type: ignore[arg-type]
def test_the_reader_agrees_with_decimal_for_valid_decimals(number: Decimal) -> None:
    for text in (str(number), format(number, "f") if abs(number.as_tuple().exponent) < 60 else str(number)):  # type: ignore[arg-type]
        assert parse_decimal(text, "n", minimum=None) == Decimal(text)


# -- the Orchestrator's answers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["²", "--5", DIGITS_5000, "٣", "1_0", 10**100])
def test_a_hostile_integer_field_is_a_protocol_error(value: Any) -> None:
    error = fast(lambda: wire.integer({"hardware_id": value}, "hardware_id", "GET /x", where="hardware[0]."))
    assert isinstance(error, ProtocolError), error
    assert "hardware[0].hardware_id" in error.message and "GET /x" in error.message


@pytest.mark.parametrize("value", [HUGE_EXPONENT, "1e999999999", "1" * 5000, "\uff11", 1e300, "1e60"])
def test_a_hostile_price_is_a_protocol_error(value: Any) -> None:
    error = fast(lambda: wire.price({"price_per_hour": value}, "price_per_hour", "GET /t", where="task_detail."))
    assert isinstance(error, ProtocolError), error
    assert "task_detail.price_per_hour" in error.message


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as s:
        yield s


@pytest.mark.parametrize(("changes", "field"), [
    ({"hardware_price": HUGE_EXPONENT}, "hardware_price"), ({"hardware_id": "²"}, "hardware_id"),
    ({"hardware_id": DIGITS_5000}, "hardware_id"), ({"hardware_id": "--5"}, "hardware_id"),
])
def test_a_hostile_catalogue_is_refused_at_once(server: ScriptedServer, tmp_path: Path, changes: dict[str, Any],
                                                field: str) -> None:
    orch = client(server, tmp_path)
    server.queue.append(hardware_answer(**changes))
    error = fast(lambda: orch.estimate_price("C1ae.small", 3600), limit=5.0)
    assert isinstance(error, ProtocolError), error
    assert f"hardware[0].{field}" in error.message


def test_a_hostile_page_count_is_a_protocol_error(server: ScriptedServer, tmp_path: Path) -> None:
    orch = client(server, tmp_path)
    server.queue.append(ok({"list": [{"uuid": "u-1"}], "total_page": "²"}))
    error = fast(lambda: orch.iter_tasks(), limit=5.0)
    assert isinstance(error, ProtocolError) and "total_page" in error.message, error


def test_a_page_count_that_never_ends_stops_at_the_first_empty_page(server: ScriptedServer, tmp_path: Path) -> None:
    orch = client(server, tmp_path)
    server.queue += [ok({"list": [{"uuid": "u-1"}], "total_page": 10**9}), ok({"list": [], "total_page": 10**9})]
    assert fast(lambda: orch.iter_tasks(), limit=5.0) == [{"uuid": "u-1"}]
    assert [r["path"].split("?")[0] for r in server.requests].count("/v2/task_list") == 2


# -- money and durations from the Python API -----------------------------------------------------------------------


@pytest.mark.parametrize("price", [HUGE_EXPONENT, Decimal("1e999999999"), "1e60", 10**200])
def test_a_huge_price_is_refused_at_once(price: Any) -> None:
    error = fast(lambda: price_to_wei(price))
    assert isinstance(error, ValidationError) and "price" in error.message, error
    assert isinstance(fast(lambda: swan_to_wei(price)), ValidationError)


@pytest.mark.parametrize("duration", [DIGITS_4400, "1" * 80 + "h", "٣٦٠٠", "\uff11h", "3_600",
                                      pytest.param(10**5000, id="10**5000")])
def test_a_hostile_duration_is_refused_at_once(duration: Any) -> None:
    error = fast(lambda: parse_duration(duration))
    assert isinstance(error, ValidationError) and "duration" in error.message, error


# -- settings ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["max_payment", "max_session_spend"])
@pytest.mark.parametrize("value", ["1e999999999", HUGE_EXPONENT, DIGITS_5000, "\uff11", "1_0"])
def test_a_hostile_spending_cap_setting_is_refused(key: str, value: str) -> None:
    error = fast(lambda: load_settings(profile="sandbox", **{key: value}))
    assert isinstance(error, ConfigurationError) and key in error.message, error


def test_a_hostile_spending_cap_from_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWAN_MAX_PAYMENT", "1e999999999")
    error = fast(lambda: load_settings(profile="sandbox"))
    assert isinstance(error, ConfigurationError) and "max_payment" in error.message and "SWAN_MAX_PAYMENT" in str(error)


@pytest.mark.parametrize(("key", "value"), [
    ("read_timeout", "1e999"), ("connect_timeout", "inf"), ("read_timeout", "\uff11"), ("retries", "²"),
    ("retries", DIGITS_5000), ("pool_size", str(10**30)), ("chain_id", "٣"), ("backoff", "1e400"),
])
def test_hostile_numeric_settings_are_refused(key: str, value: str) -> None:
    error = fast(lambda: load_settings(profile="sandbox", **{key: value}))
    assert isinstance(error, ConfigurationError) and key in error.message, error


# -- the magics ----------------------------------------------------------------------------------------------------


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, ip: TestingShell) -> TestingShell:
    """The shell on a profile whose Orchestrator is a closed loopback port: nothing can be sent anywhere."""
    monkeypatch.setenv("SWAN_ORCHESTRATOR_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SWAN_API_KEY", "test-key-not-used")
    ip.run_line_magic("config", 'SwanMagics.profile = "testnet"')
    return ip


@pytest.mark.parametrize("line", [
    f"--app hello-world --hardware C1ae.small --duration {DIGITS_4400}",
    "--app hello-world --hardware C1ae.small --duration ٣٦٠٠",
    f"renew 00000000-0000-0000-0000-000000000000 --duration {DIGITS_4400}",
])
def test_a_hostile_duration_in_a_magic_is_refused(offline: TestingShell, line: str) -> None:
    magic = "swan" if line.startswith("renew") else "swan_deploy"
    error = fast(lambda: offline.run_line_magic(magic, line), limit=5.0)
    assert isinstance(error, ValidationError) and "duration" in error.message, error


@pytest.mark.parametrize("value", ["1e999999999", HUGE_EXPONENT, "\uff11", "1_0", DIGITS_5000])
def test_a_hostile_max_auto_spend_is_refused(ip: TestingShell, value: str) -> None:
    magics = ip.magics_manager.registry["SwanMagics"]
    ip.run_line_magic("config", f'SwanMagics.max_auto_spend = "{value}"')  # refused by the validator (logged)
    assert magics.max_auto_spend == ""
    error = fast(lambda: setattr(magics, "max_auto_spend", value))
    assert isinstance(error, ValidationError) and "max_auto_spend" in error.message, error


@pytest.mark.parametrize(("magic", "line", "option"), [
    ("swan", "tasks --page ²", "--page"), ("swan", f"tasks --size {DIGITS_5000}", "--size"),
    ("swan", "tasks --page 1_0", "--page"),
    ("swan_deploy", "--app hello-world --hardware C1ae.small --timeout inf", "--timeout"),
    ("swan_deploy", "--app hello-world --hardware C1ae.small --start-in ٣", "--start-in"),
    ("actors", "search actors --limit ²", "--limit"), ("actors", "search actors --skip 1_000", "--skip"),
    ("actors", "add-workers some-actor 10000000000000000000000", "N"),
    ("actors", "add-nonce some-actor --max-uses ٣", "--max-uses"),
    ("actor_send", "some-actor --sync --timeout 1e999", "--timeout"),
])
def test_a_hostile_number_in_a_magic_argument_is_a_usage_error(offline: TestingShell, magic: str, line: str,
                                                                option: str) -> None:
    from IPython.core.error import UsageError

    if magic == "actor_send":
        error = fast(lambda: offline.run_cell_magic(magic, line, "hi"))
    else:
        error = fast(lambda: offline.run_line_magic(magic, line))
    assert isinstance(error, UsageError), error
    text = str(error)
    problems = ("ASCII digits", "maximum", "finite", "characters long", "out of range")
    assert option in text and any(w in text for w in problems), text


# -- the Abaco client ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("call", [
    lambda c: c.search("actors", limit="²"), lambda c: c.search("executions", skip=10**100),
    lambda c: c.add_workers("a1", "٣"), lambda c: c.add_nonce("a1", max_uses=10**100),
    lambda c: c.add_workers("a1", 10**9),
])
def test_hostile_numbers_to_the_abaco_client_are_refused_before_sending(server: ScriptedServer, call: Any) -> None:
    from swan_jupyter.actors import Actors

    client = Actors(server.url, token="t-0123456789", flavor="v3", retries=0)
    error = fast(lambda: call(client))
    assert isinstance(error, ValidationError), error
    assert server.requests == []


def test_a_hostile_abaco_setting_is_refused() -> None:
    from swan_jupyter.actors import Actors
    from swan_jupyter.actors._function_calls import minor_version

    assert isinstance(fast(lambda: Actors("http://127.0.0.1:9", flavor="v3", max_binary_bytes="²")), ValidationError)
    assert isinstance(fast(lambda: minor_version("².11")), ValidationError)


@pytest.mark.parametrize("count", ["²", DIGITS_5000, "--5"])
def test_a_hostile_message_count_is_a_protocol_error(server: ScriptedServer, count: str) -> None:
    from swan_jupyter.actors import Actors
    from tests.helpers import Scripted

    server.queue.append(Scripted(200, {"status": "success", "message": "ok", "result": {"messages": count}}))
    client = Actors(server.url, token="t-0123456789", flavor="v3", retries=0)
    error = fast(lambda: client.message_count("a1"))
    assert isinstance(error, ProtocolError) and "messages" in error.message, error


# -- hostile numbers in what is displayed --------------------------------------------------------------------------

HOSTILE_TASK = {"uuid": "u-1", "status": "completed", "end_at": float("inf"), "created_at": 1e20, "start_at": -1e300,
                "refund_amount": "1e999999", "tx_hash": "0x1",
                "task_detail": {"price_per_hour": "1e1000000", "duration": 1e308, "hardware": "C1ae.small"}}


def test_a_task_card_with_hostile_numbers_renders_at_once() -> None:
    from swan_jupyter.orchestrator.views import TaskInfo, swan_text

    card = TaskInfo({"task": HOSTILE_TASK, "jobs": [], "config_orders": []})
    html = fast(lambda: card._repr_html_())
    assert isinstance(html, str) and len(html) < 20_000, html
    assert isinstance(fast(lambda: card._repr_text_()), str)
    assert fast(lambda: swan_text("1e999999")) == "'1e999999' (not a readable amount) SWAN"
    assert swan_text("0.480") == "0.48 SWAN"


def test_a_task_frame_with_hostile_numbers_builds_at_once() -> None:
    from swan_jupyter.frames.orchestrator import tasks_frame

    frame = fast(lambda: tasks_frame([{"task": HOSTILE_TASK, "jobs": []}, {"task": {
        "uuid": "u-2", "task_detail": {"price_per_hour": "123456789012.123456789012345678"}}}]))
    assert not isinstance(frame, Exception), frame
    assert frame["price_per_hour_wei"].tolist()[0] is None
    assert frame["price_per_hour_wei"].tolist()[1] == 123456789012123456789012345678  # exact: no 28-digit rounding


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "0", "1e999", "\uff16\uff10", "1_0"])
def test_a_hostile_time_scale_is_refused(value: str, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from swan_jupyter import cli
    from swan_jupyter.sandbox import commands
    from swan_jupyter.sandbox_contract import DEFAULT_TIME_SCALE

    for parse in (cli._parser().parse_args, commands.main):  # swan-jupyter sandbox, python -m swan_jupyter.sandbox
        with pytest.raises(SystemExit) as info:
            parse([*(["sandbox"] if parse is not commands.main else []), "start", "--time-scale", value])
        assert info.value.code == 2 and "--time-scale" in capsys.readouterr().err
    monkeypatch.setenv("SWAN_TIME_SCALE", value)
    assert commands.default_time_scale() == DEFAULT_TIME_SCALE  # a bad environment value falls back, as before


@pytest.mark.parametrize("hardware_id", ["²", "--5", pytest.param(10**5000, id="10**5000"), True])
def test_a_hostile_hardware_id_from_the_python_api_is_refused_before_sending(server: ScriptedServer,
                                                                             tmp_path: Path, hardware_id: Any) -> None:
    sdk = SwanSdk(client(server, tmp_path))  # hardware_id is swan-sdk's keyword: the facade's create_task
    error = fast(lambda: sdk.create_task(hardware_id=hardware_id, job_source_uri="https://example.org/space"))
    assert isinstance(error, ValidationError) and "hardware_id" in error.message, error
    assert [r["path"] for r in server.requests if r["path"].startswith("/v2/task_deployment")] == []


def test_one_hour_formatter_for_quotes_and_task_cards() -> None:
    from swan_jupyter.orchestrator.amounts import format_duration
    from swan_jupyter.orchestrator.models import Quote
    from swan_jupyter.orchestrator.views import Renewal

    assert format_duration(5400) == "5400 s (1.5 h)" and format_duration(3600.0) == "3600 s (1 h)"
    assert format_duration(7 * 86_400 + 1) == "604801 s (168.0002777777777777777777778 h)"  # exact, no float
    assert [format_duration(v) for v in (None, "3600", True, float("nan"), float("inf"))] == [""] * 5
    quote = Quote(task_uuid=None, order_type="Creation", hardware="C1ae.small", hardware_id=1, region="global",
                  duration=5400, price_per_hour=Decimal("1"), price_per_hour_wei=10**18, amount_wei=15 * 10**17,
                  wallet="0x0", chain_id=None, network="local")
    assert quote.rows()["duration"] == "5400 s (1.5 h)"
    renewal = Renewal({"task_uuid": "t-1", "config_order": {"duration": 5400}})
    assert "renewed for 5400 s (1.5 h)" in renewal._repr_text_() and "5400 s (1.5 h)" in renewal._repr_html_()


# -- spans: one grammar for --duration and --since (issue 23 §4) ------------------------------------------------------

SPANS = {"1h30m": 5400, "2h": 7200, "90m": 5400, "30min": 1800, "1d": 86400, "1d2h30m": 95400, "45s": 45,
         "10sec": 10, "1.5h": 5400, "2H 15M": 8100}


@pytest.mark.parametrize(("span", "seconds"), SPANS.items())
def test_duration_and_since_read_the_same_spans(span: str, seconds: int) -> None:
    """``--duration 1h30m`` worked and ``--since 1h30m`` was a usage error: both now read one grammar."""
    from datetime import UTC, datetime

    from swan_jupyter.magics.actors import parse_since

    assert parse_duration(span, minimum=1) == seconds
    before = datetime.now(UTC)
    when = parse_since(span)
    assert when is not None
    assert abs((before - when).total_seconds() - seconds) < 5


@pytest.mark.parametrize("span", ["1" * 90 + "h", "1h" * 60, "\uff11h", "1h30", "h", "1x", "1.h"])
def test_a_bad_span_is_refused_by_both_at_once(span: str) -> None:
    from IPython.core.error import UsageError

    from swan_jupyter.magics.actors import parse_since

    assert isinstance(fast(lambda: parse_duration(span, minimum=1)), ValidationError)
    error = fast(lambda: parse_since(span))
    assert isinstance(error, UsageError) and "--since" in str(error), error
