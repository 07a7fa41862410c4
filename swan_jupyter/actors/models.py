"""Typed views of Abaco objects: actors, executions, workers, nonces, aliases, summaries.

Every model is built with ``Model.from_wire(mapping)``: keys are converted to snake_case (v2 servers send
camelCase and drop ``None`` fields, so missing keys read as ``None``), the known fields become attributes,
timestamps become UTC :class:`~datetime.datetime` (Abaco's ``"None"`` string becomes ``None``) and every
unknown key is kept in ``extra``. ``obj["field"]`` works for both attributes and extra keys (camel or snake)::

    actor = client.get("PZmwGM6voQEl5")
    actor.default_environment, actor["defaultEnvironment"], actor.extra.get("new_server_field")
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Self

from ..display import Displayable, kv_html, kv_text
from ..redact import mask, register
from ._cases import snake_keys, to_snake

#: Abaco permission levels, lowest first (``NONE`` revokes).
LEVELS = ("NONE", "READ", "EXECUTE", "UPDATE")


def parse_time(value: Any) -> datetime | None:
    """Parse Abaco's time strings to an aware UTC datetime (None for missing values).

    Abaco displays times with ``t.isoformat().replace("000", "Z")`` (TACC/abaco actors/models.py,
    display_time), so ``...:41.591Z``, ``...:06.5Z00`` and ``2Z-01-10T...`` (year 2000) are undone by turning
    every ``Z`` back into ``000``;
    ordinary ISO 8601 (with ``Z`` or an offset), RFC 1123 (``Tue, 22 Nov 2026 10:50:38 GMT``, the executions
    summary) and Unix seconds are accepted too. The string ``"None"`` and unparseable text give None.
    """
    if value is None:
        return None
    try:
        if isinstance(value, str):
            return _parse_text(value)
        if isinstance(value, datetime):
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        return _parse_text(str(value))
    except (OverflowError, OSError, ValueError):  # out of the platform's range, NaN, year 0: not a time
        return None


def _parse_text(value: str) -> datetime | None:
    text = value.strip()
    if text in ("", "None", "none", "null"):
        return None
    if "," in text and text[:3].isalpha():
        try:
            return parsedate_to_datetime(text).astimezone(UTC)
        except (TypeError, ValueError):
            return None
    text = text.replace(" ", "T", 1) if "T" not in text else text
    candidates = [text.replace("Z", "000")] if "Z" in text else []
    candidates.append(text[:-1] + "+00:00" if text.endswith("Z") else text)
    for candidate in candidates:
        try:
            parsed = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None


_ABSENT = object()


@dataclass(repr=False)
class Model(Displayable):
    """Base of every Abaco model: snake_case attributes, unknown fields in ``extra``, ``[]`` access."""

    extra: dict[str, Any] = field(default_factory=dict, repr=False)
    _time_fields: ClassVar[frozenset[str]] = frozenset()
    _title: ClassVar[str] = "Abaco object"
    _names_cache: ClassVar[frozenset[str] | None] = None
    _ordered_cache: ClassVar[tuple[str, ...] | None] = None

    @classmethod
    def from_wire(cls, data: Mapping[str, Any] | None) -> Self:
        """Build from a server answer in either case; missing keys are ``None``, unknown keys go to ``extra``."""
        snake = snake_keys(data or {})
        names = cls._field_names()
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in snake.items():
            if key in names:
                kwargs[key] = parse_time(value) if key in cls._time_fields else value
            else:
                extra[key] = value
        return cls(extra=extra, **kwargs)

    @classmethod
    def _field_names(cls) -> frozenset[str]:
        cached = cls.__dict__.get("_names_cache")
        if cached is None:
            cached = frozenset(f.name for f in dataclasses.fields(cls)) - {"extra"}
            cls._names_cache = cached
        return cached

    @classmethod
    def _field_names_ordered(cls) -> tuple[str, ...]:
        cached = cls.__dict__.get("_ordered_cache")
        if cached is None:
            cached = tuple(f.name for f in dataclasses.fields(cls) if f.name != "extra")
            cls._ordered_cache = cached
        return cached

    def to_dict(self) -> dict[str, Any]:
        """All fields (known and extra) as a snake_case dict."""
        out = {name: getattr(self, name) for name in self._field_names_ordered()}
        out.update(self.extra)
        return out

    def __getitem__(self, key: str) -> Any:
        snake = to_snake(key)
        if snake in self._field_names():
            return getattr(self, snake)
        if key in self.extra:
            return self.extra[key]
        if snake in self.extra:
            return self.extra[snake]
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        """``obj[key]`` or ``default``."""
        try:
            return self[key]
        except KeyError:
            return default

    def __getattr__(self, name: str) -> Any:
        """agavepy-style access: ``actor.defaultEnvironment`` and unknown server fields (``obj.new_field``)."""
        if name.startswith("__") or name == "extra":
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}") from None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, _ABSENT) is not _ABSENT

    def keys(self) -> list[str]:
        """Field names (snake_case), known and extra, as ``dict(obj)`` sees them."""
        return list(self.to_dict())

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def _rows(self) -> list[tuple[str, Any]]:
        return [(k, v) for k, v in self.to_dict().items() if not k.startswith("_") and v not in (None, "", [], {})]

    def _heading(self) -> str:
        return self._title

    def _repr_text_(self) -> str:
        return kv_text(self._heading(), self._rows())

    def _repr_html_(self) -> str:
        return kv_html(self._heading(), self._rows())


@dataclass(repr=False)
class Actor(Model):
    """An actor (TACC/abaco actors/models.py, Actor)."""

    id: str | None = None
    name: str | None = None
    image: str | None = None
    owner: str | None = None
    status: str | None = None
    status_message: str | None = None
    description: str | None = None
    stateless: bool | None = None
    token: Any = None
    default_environment: dict[str, Any] | None = None
    hints: list[str] | None = None
    link: str | None = None
    webhook: str | None = None
    privileged: bool | None = None
    max_workers: int | None = None
    mem_limit: str | None = None
    max_cpus: int | None = None
    use_container_uid: bool | None = None
    queue: str | None = None
    log_ex: int | None = None
    cron_schedule: str | None = None
    cron_on: bool | None = None
    revision: int | None = None
    state: Any = None
    create_time: datetime | None = None
    last_update_time: datetime | None = None
    _time_fields: ClassVar[frozenset[str]] = frozenset({"create_time", "last_update_time"})
    _title: ClassVar[str] = "Actor"

    def _heading(self) -> str:
        """Actors show by name where they have one (the id beside it)."""
        return f"Actor {self.name} ({self.id})" if self.name else f"Actor {self.id}"


@dataclass(repr=False)
class ExecutionInfo(Model):
    """One execution record (TACC/abaco actors/models.py, Execution): ``runtime`` seconds, ``cpu`` nanoseconds,
    ``io`` bytes received over the network (as actors/docker_utils.py, execute_actor, measures them)."""

    id: str | None = None
    actor_id: str | None = None
    status: str | None = None
    executor: str | None = None
    worker_id: str | None = None
    cpu: int | None = None
    io: int | None = None
    runtime: int | None = None
    exit_code: Any = None
    final_state: Any = None
    message_received_time: datetime | None = None
    start_time: datetime | None = None
    finish_time: datetime | None = None
    _time_fields: ClassVar[frozenset[str]] = frozenset({"message_received_time", "start_time", "finish_time"})
    _title: ClassVar[str] = "Execution"


@dataclass(repr=False)
class ExecutionsSummary(Model):
    """``GET /actors/{id}/executions``: totals and one short item per execution (TACC/abaco actors/models.py,
    ExecutionsSummary)."""

    actor_id: str | None = None
    owner: str | None = None
    executions: list[ExecutionInfo] = field(default_factory=list)
    total_executions: int | None = None
    total_cpu: int | None = None
    total_io: int | None = None
    total_runtime: int | None = None
    _title: ClassVar[str] = "Executions"

    @classmethod
    def from_wire(cls, data: Mapping[str, Any] | None) -> Self:
        summary = super().from_wire(data)
        items = summary.executions or []
        summary.executions = [ExecutionInfo.from_wire(i) if isinstance(i, Mapping) else i for i in items]
        return summary


@dataclass(repr=False)
class Worker(Model):
    """A worker (TACC/abaco actors/models.py, Worker)."""

    id: str | None = None
    status: str | None = None
    image: str | None = None
    ch_name: str | None = None
    cid: str | None = None
    host_id: str | None = None
    host_ip: str | None = None
    location: str | None = None
    tenant: str | None = None
    create_time: datetime | None = None
    last_execution_time: datetime | None = None
    last_health_check_time: datetime | None = None
    _time_fields: ClassVar[frozenset[str]] = frozenset(
        {"create_time", "last_execution_time", "last_health_check_time"})
    _title: ClassVar[str] = "Worker"


@dataclass(repr=False)
class ActorConfig(Model):
    """An actor config (TACC/abaco actors/models.py, ActorConfig): a named value given to the executions of the
    actors it names (``actors``, ids or aliases) as ``_actor_configs``. A secret config's value is never shown
    by Abaco (it answers ciphertext) and is masked in this object's display; the value you set is registered
    for redaction by the client call that sent it."""

    name: str | None = None
    value: str | None = None
    is_secret: bool | None = None
    actors: list[str] | None = None
    _title: ClassVar[str] = "Actor config"

    def __post_init__(self) -> None:
        if isinstance(self.actors, str):  # Abaco keeps the comma-separated text as given
            self.actors = [a.strip() for a in self.actors.split(",") if a.strip()]

    def _rows(self) -> list[tuple[str, Any]]:
        return [(k, mask(str(v)) if k == "value" and self.is_secret and v else v) for k, v in super()._rows()]


@dataclass(repr=False)
class Nonce(Model):
    """A nonce (TACC/abaco actors/models.py, Nonce). Its ``id`` is a credential: it is masked in reprs and
    registered for redaction."""

    id: str | None = None
    actor_id: str | None = None
    alias: str | None = None
    owner: str | None = None
    level: str | None = None
    description: str | None = None
    max_uses: int | None = None
    remaining_uses: int | None = None
    current_uses: int | None = None
    roles: list[str] | None = None
    create_time: datetime | None = None
    last_use_time: datetime | None = None
    _time_fields: ClassVar[frozenset[str]] = frozenset({"create_time", "last_use_time"})
    _title: ClassVar[str] = "Nonce"

    def __post_init__(self) -> None:
        if isinstance(self.id, str):
            register(self.id)  # a credential from the server's answer: masked in any text from now on

    def _rows(self) -> list[tuple[str, Any]]:
        return [(k, mask(str(v)) if k == "id" else v) for k, v in super()._rows()]


@dataclass(repr=False)
class Alias(Model):
    """An alias naming an actor (TACC/abaco actors/models.py, Alias)."""

    alias: str | None = None
    actor_id: str | None = None
    owner: str | None = None
    _title: ClassVar[str] = "Alias"


@dataclass(repr=False)
class MessageReceipt(Model):
    """The answer to an asynchronous message: the new execution's id and the message as Abaco echoed it."""

    execution_id: str | None = None
    msg: Any = None
    _title: ClassVar[str] = "Message accepted"


@dataclass(repr=False)
class Record(Model):
    """A small answer without a fixed shape (mailbox count, logs, state): every key is in ``extra``.

    Keys keep the server's spelling; ``rec["messages"]``, ``rec.logs`` work as with agavepy's ``AttrDict``.
    """

    _title: ClassVar[str] = "Abaco answer"

    @classmethod
    def of(cls, **values: Any) -> Record:
        """A record holding ``values``."""
        return cls(extra=dict(values))


class SearchPage(list[Any]):
    """One page of ``/actors/search/{type}``: a list of models plus the server's paging figures.

    ``total_count`` (all matches), ``records_skipped``, ``record_limit``, ``count_returned``.
    """

    total_count: int | None = None
    records_skipped: int | None = None
    record_limit: int | None = None
    count_returned: int | None = None


__all__ = [
    "Actor", "Alias", "ExecutionInfo", "ExecutionsSummary", "MessageReceipt", "Model", "Nonce", "Record",
    "SearchPage", "Worker", "parse_time",
]
