"""An agavepy-compatible facade: ``Agave(api_server=..., token=...).actors.<nickname>(...)`` over :class:`Actors`.

Code written for agavepy 0.9.5's actors resource runs with one import changed::

    from swan_jupyter.actors import Agave          # was: from agavepy.agave import Agave
    ag = Agave(api_server="http://127.0.0.1:8001", token=TOKEN)
    actor = ag.actors.add(body={"image": "abacosamples/test", "defaultEnvironment": {"k": "v"}})
    sent = ag.actors.sendMessage(actorId=actor["id"], body={"message": "hello"}, environment={"MODE": "x"})
    ag.actors.getExecution(actorId=actor.id, executionId=sent["executionId"])["status"]
    ag.actors.getExecutionLogs(actorId=actor.id, executionId=sent.executionId)["logs"]

The 29 operations of agavepy's ``actors`` resource keep their names and keyword arguments (``actorId``,
``executionId``, ``workerId``, ``nonceId``, ``alias``, ``body``, ``environment``, ``message``, ``limit``,
``offset``), plus ``updateAlias`` and ``deleteExecution`` (force quit) that agavepy lacks; each also accepts
agavepy's per-call ``nonce=`` (sent as ``x-nonce`` instead of the token).

Differences from agavepy, on purpose:

* Answers are this package's typed models (:class:`~swan_jupyter.actors.models.Actor`, ...). They behave like
  agavepy's ``AttrDict`` for reading: ``actor["defaultEnvironment"]``, ``actor.defaultEnvironment``,
  ``actor["default_environment"]``, ``"id" in actor``, ``dict(actor)``; missing camelCase keys read as None.
  Times are UTC ``datetime`` objects, not strings.
* Errors are :mod:`swan_jupyter.errors` exceptions (``NotFoundError``, ``PermissionDeniedError``, ...) with
  Abaco's message in ``server_message``, instead of ``requests.HTTPError``.
* ``list(limit, offset)`` pages on the client (Abaco switches to search mode on those parameters, which
  agavepy then mangles); plain http URLs and ports work (agavepy forces https and drops the token on ports).
* ``getOneExecutionResult`` returns an object with ``.content`` (bytes, empty when the queue is empty) and
  ``.status_code``, like the ``requests.Response`` agavepy returns.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ValidationError
from ..numbers import parse_int
from ._cases import to_snake
from .client import UPDATABLE_FIELDS, Actors, Flavor
from .execution import Execution
from .models import (
    Actor,
    Alias,
    ExecutionInfo,
    ExecutionsSummary,
    MessageReceipt,
    Model,
    Nonce,
    Record,
    Worker,
)


@dataclass(frozen=True)
class ResultResponse:
    """What ``getOneExecutionResult`` returns: ``.content`` (raw bytes), ``.status_code``, ``.headers``."""

    content: bytes
    status_code: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The content decoded as UTF-8."""
        return self.content.decode("utf-8", "replace")


class AttrDict(dict[str, Any]):
    """A dict whose keys are also attributes (agavepy's ``AttrDict``), used for permission maps."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _body(body: Any) -> Any:
    """agavepy accepts a dict or a JSON string as ``body``."""
    if isinstance(body, str | bytes | bytearray):
        try:
            return json.loads(body)
        except ValueError:
            raise ValidationError("body is not valid JSON.", hint="Pass a dict, or a JSON string.") from None
    return body


def _mapping(body: Any, what: str) -> dict[str, Any]:
    value = _body(body)
    if value is None:
        return {}
    if isinstance(value, Model):
        return value.to_dict()
    if not isinstance(value, Mapping):
        raise ValidationError(f"The body of {what} must be a JSON object.", hint="Pass a dict.")
    return dict(value)


def _receipt(ex: Execution) -> MessageReceipt:
    return ex.receipt or MessageReceipt(execution_id=ex.id)


class ActorsResource:
    """``ag.actors``: agavepy's 29 actor operations (plus ``updateAlias`` and ``deleteExecution``)."""

    def __init__(self, client: Actors) -> None:
        self.client = client

    def _c(self, nonce: str | None) -> Actors:
        return self.client if nonce is None else self.client.with_nonce(nonce)

    # -- actors ----------------------------------------------------------------------------------------------

    def list(self, limit: int | None = None, offset: int | None = None, nonce: str | None = None,
             **_: Any) -> builtins.list[Actor]:
        """``GET /actors``: the actors you can read (``limit``/``offset`` applied on the client)."""
        return self._c(nonce).list(limit=limit, offset=offset)

    def add(self, body: Any, nonce: str | None = None, **_: Any) -> Actor:
        """``POST /actors``: register an actor (``body`` in camelCase or snake_case)."""
        return self._c(nonce).add(_mapping(body, "add"))

    def get(self, actorId: str, nonce: str | None = None, **_: Any) -> Actor:
        """``GET /actors/{actorId}``."""
        return self._c(nonce).get(actorId)

    def update(self, actorId: str, body: Any, nonce: str | None = None, **_: Any) -> Actor:
        """``PUT /actors/{actorId}``, but only the fields in ``body`` change (GET, merge, PUT)."""
        # agavepy code often sends back a whole fetched actor: keep the fields a PUT takes, ignore the rest.
        keep = set(UPDATABLE_FIELDS) | {"force", "run_as_executor"}
        changes = {k: v for k, v in _mapping(body, "update").items() if to_snake(str(k)) in keep}
        if changes.get("queue") == "default":  # echoed back from a fetched actor: Abaco refuses any queue from a
            changes.pop("queue")                # non-privileged user, and "default" changes nothing
        return self._c(nonce).update(actorId, changes)

    def delete(self, actorId: str, nonce: str | None = None, **_: Any) -> None:
        """``DELETE /actors/{actorId}``."""
        self._c(nonce).delete(actorId)

    # -- messages --------------------------------------------------------------------------------------------

    def getMessages(self, actorId: str, nonce: str | None = None, **_: Any) -> Record:
        """``GET .../messages``: ``{"messages": <queued count>}``."""
        return Record.of(messages=self._c(nonce).message_count(actorId))

    def sendMessage(self, actorId: str, body: Any, environment: Mapping[str, Any] | None = None,
                    nonce: str | None = None, **_: Any) -> MessageReceipt:
        """``POST .../messages``: ``body={"message": "text"}`` sends text, any other dict is a JSON message.

        Returns ``{"executionId", "msg"}`` (also readable as ``execution_id``).
        """
        value = _body(body)
        if isinstance(value, Mapping | builtins.list):
            message: Any = value
        else:
            message = "" if value is None else str(value)
        return _receipt(self._c(nonce).send_message(actorId, message, environment))

    def sendBinaryMessage(self, actorId: str, message: bytes, environment: Mapping[str, Any] | None = None,
                          nonce: str | None = None, **_: Any) -> MessageReceipt:
        """``POST .../messages`` with ``application/octet-stream``."""
        return _receipt(self._c(nonce).send_binary(actorId, message, environment))

    def deleteMessages(self, actorId: str, nonce: str | None = None, **_: Any) -> Record:
        """``DELETE .../messages``: purge the mailbox."""
        self._c(nonce).purge_messages(actorId)
        return Record.of(msg="Actor mailbox purged.")

    # -- state and permissions -------------------------------------------------------------------------------

    def getState(self, actorId: str, nonce: str | None = None, **_: Any) -> Record:
        """``GET .../state``: ``{"state": <JSON>}``."""
        return Record.of(state=self._c(nonce).get_state(actorId))

    def updateState(self, actorId: str, body: Any, nonce: str | None = None, **_: Any) -> Actor:
        """``POST .../state``: replace the state; returns the actor (as Abaco does)."""
        return self._c(nonce).set_state(actorId, _body(body))

    def getPermissions(self, actorId: str, nonce: str | None = None, **_: Any) -> AttrDict:
        """``GET .../permissions``: ``{user: level}``."""
        return AttrDict(self._c(nonce).get_permissions(actorId))

    def updatePermissions(self, actorId: str, body: Any, nonce: str | None = None, **_: Any) -> AttrDict:
        """``POST .../permissions`` with ``{"user", "level"}``."""
        b = _mapping(body, "updatePermissions")
        if "user" not in b or "level" not in b:
            raise ValidationError("updatePermissions needs body={'user': ..., 'level': ...}.")
        return AttrDict(self._c(nonce).grant(actorId, str(b["user"]), str(b["level"])))

    # -- workers ---------------------------------------------------------------------------------------------

    def listWorkers(self, actorId: str, nonce: str | None = None, **_: Any) -> builtins.list[Worker]:
        """``GET .../workers``."""
        return self._c(nonce).list_workers(actorId)

    def addWorker(self, actorId: str, body: Any = None, nonce: str | None = None, **_: Any) -> None:
        """``POST .../workers`` with ``{"num": n}`` (admins only)."""
        self._c(nonce).add_workers(actorId, parse_int(_mapping(body, "addWorker").get("num", 1), "num"))

    def getWorker(self, actorId: str, workerId: str, nonce: str | None = None, **_: Any) -> Worker:
        """``GET .../workers/{workerId}``."""
        return self._c(nonce).get_worker(actorId, workerId)

    def deleteWorker(self, actorId: str, workerId: str, nonce: str | None = None, **_: Any) -> None:
        """``DELETE .../workers/{workerId}``."""
        self._c(nonce).delete_worker(actorId, workerId)

    # -- nonces ----------------------------------------------------------------------------------------------

    def listNonces(self, actorId: str, nonce: str | None = None, **_: Any) -> builtins.list[Nonce]:
        """``GET .../nonces``."""
        return self._c(nonce).list_nonces(actorId)

    def addNonce(self, actorId: str, body: Any = None, nonce: str | None = None, **_: Any) -> Nonce:
        """``POST .../nonces`` with ``{"level", "maxUses", "description"}`` (any key optional)."""
        b = _mapping(body, "addNonce")
        max_uses = parse_int(b.get("maxUses", b.get("max_uses", -1)), "maxUses", minimum=None)
        return self._c(nonce).add_nonce(actorId, level=str(b.get("level", "EXECUTE")), max_uses=max_uses,
                                        description=b.get("description"))

    def getNonce(self, actorId: str, nonceId: str, nonce: str | None = None, **_: Any) -> Nonce:
        """``GET .../nonces/{nonceId}``."""
        return self._c(nonce).get_nonce(actorId, nonceId)

    def deleteNonce(self, actorId: str, nonceId: str, nonce: str | None = None, **_: Any) -> None:
        """``DELETE .../nonces/{nonceId}``."""
        self._c(nonce).delete_nonce(actorId, nonceId)

    # -- executions ------------------------------------------------------------------------------------------

    def listExecutions(self, actorId: str, limit: int | None = None, offset: int | None = None,
                       nonce: str | None = None, **_: Any) -> ExecutionsSummary:
        """``GET .../executions``: the summary (``executions`` paged on the client by ``limit``/``offset``)."""
        summary = self._c(nonce).list_executions(actorId)
        if limit is not None or offset is not None:
            start = offset or 0
            summary.executions = summary.executions[start:None if limit is None else start + limit]
        return summary

    def getExecution(self, actorId: str, executionId: str, nonce: str | None = None, **_: Any) -> ExecutionInfo:
        """``GET .../executions/{executionId}``."""
        return self._c(nonce).get_execution(actorId, executionId)

    def getExecutionLogs(self, actorId: str, executionId: str, nonce: str | None = None, **_: Any) -> Record:
        """``GET .../executions/{executionId}/logs``: ``{"logs": <text>}``."""
        return Record.of(logs=self._c(nonce).get_logs(actorId, executionId))

    def getOneExecutionResult(self, actorId: str, executionId: str, nonce: str | None = None,
                              **_: Any) -> ResultResponse:
        """``GET .../executions/{executionId}/results``: pop one result (``.content`` is empty when none)."""
        return ResultResponse(self._c(nonce).get_result(actorId, executionId) or b"")

    def deleteExecution(self, actorId: str, executionId: str, nonce: str | None = None, **_: Any) -> None:
        """``DELETE .../executions/{executionId}``: force-quit a RUNNING execution (not in agavepy 0.9.5)."""
        self._c(nonce).force_quit(actorId, executionId)

    # -- aliases ---------------------------------------------------------------------------------------------

    def listAliases(self, nonce: str | None = None, **_: Any) -> builtins.list[Alias]:
        """``GET /actors/aliases``."""
        return self._c(nonce).list_aliases()

    def addAlias(self, body: Any, nonce: str | None = None, **_: Any) -> Alias:
        """``POST /actors/aliases`` with ``{"alias", "actorId"}``."""
        b = _mapping(body, "addAlias")
        actor_id = b.get("actorId") or b.get("actor_id")
        if not b.get("alias") or not actor_id:
            raise ValidationError("addAlias needs body={'alias': ..., 'actorId': ...}.")
        return self._c(nonce).add_alias(str(b["alias"]), str(actor_id))

    def getAlias(self, alias: str, nonce: str | None = None, **_: Any) -> Alias:
        """``GET /actors/aliases/{alias}``."""
        return self._c(nonce).get_alias(alias)

    def updateAlias(self, alias: str, body: Any, nonce: str | None = None, **_: Any) -> Alias:
        """``PUT /actors/aliases/{alias}`` with ``{"actorId"}`` (not in agavepy 0.9.5)."""
        b = _mapping(body, "updateAlias")
        actor_id = b.get("actorId") or b.get("actor_id")
        if not actor_id:
            raise ValidationError("updateAlias needs body={'actorId': ...}.")
        return self._c(nonce).update_alias(alias, str(actor_id))

    def deleteAlias(self, alias: str, nonce: str | None = None, **_: Any) -> None:
        """``DELETE /actors/aliases/{alias}``."""
        self._c(nonce).delete_alias(alias)


class Agave:
    """agavepy's entry point, actors only: ``Agave(api_server=..., token=...)``; ``.actors`` is the resource.

    :param api_server: the server root, e.g. ``https://api.tacc.utexas.edu`` or ``http://127.0.0.1:8001``.
    :param token: the bearer token (never printed).
    :param nonce: use this actor nonce for every call instead of a token.
    :param flavor: ``"v2"`` (agavepy's server, the default) or ``"v3"`` (a Tapis server).
    :param tenant_id: the tenant (informational).
    :param verify: accepted for compatibility; TLS verification is always on for https.
    :param transport_options: ``connect_timeout``, ``read_timeout``, ``retries``, ``backoff``, ``pool_size``.

    agavepy's other credentials (``api_key``/``api_secret``/``username``/``password`` token generation,
    ``jwt``) are not supported: obtain a token first and pass ``token=``.
    """

    def __init__(
        self,
        api_server: str,
        token: str | None = None,
        *,
        nonce: str | None = None,
        flavor: Flavor = "v2",
        tenant_id: str | None = None,
        verify: bool = True,
        **transport_options: Any,
    ) -> None:
        unsupported = sorted(k for k in ("api_key", "api_secret", "username", "password", "jwt", "refresh_token",
                                         "jwt_header_name", "client_name", "resources", "use_nonce")
                             if transport_options.pop(k, None) is not None and k != "use_nonce")
        if unsupported:
            raise ValidationError(
                f"Agave(...) here does not support {', '.join(unsupported)}.",
                hint="Get an access token first and pass Agave(api_server=..., token=...).",
            )
        self.api_server = api_server
        self.actors = ActorsResource(
            Actors(api_server, token=token, nonce=nonce, flavor=flavor, tenant=tenant_id, **transport_options)
        )

    def close(self) -> None:
        """Close the pooled connections."""
        self.actors.client.close()

    def __repr__(self) -> str:
        return f"Agave({self.api_server!r}, flavor={self.actors.client.flavor!r})"


__all__ = ["ActorsResource", "Agave", "AttrDict", "ResultResponse"]
