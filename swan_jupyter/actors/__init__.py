"""Abaco actors (functions as a service): the :class:`Actors` client, its models and the agavepy facade.

Modules: ``client`` (:class:`Actors`, actors and messages and executions), ``management`` (state, permissions,
workers, nonces), ``aliases``, ``search``, ``execution`` (the :class:`Execution` handle), ``models`` (typed
results), ``messages`` (message checks), ``_cases`` (camelCase/snake_case), ``agave`` (agavepy-compatible
:class:`Agave`), ``records`` (the executions of many actors at once, fetched concurrently), ``metrics`` (which
executions a metrics frame holds, one :class:`~.metrics.ExecutionQuery`, and fetching them again),
``functions`` (Python functions run on Abaco: ``Actors.function``) and ``_function_calls`` (one call's payload,
runner and outcome).

Example::

    from swan_jupyter.actors import Actors
    client = Actors("http://127.0.0.1:8001", token="...", flavor="v3")
    actor = client.add({"image": "abacosamples/test", "name": "echo"})
    ex = client.send_message(actor.id, {"n": 1}).wait()
    print(ex.logs())

    from swan_jupyter.actors import Agave                 # code written for agavepy
    ag = Agave(api_server="http://127.0.0.1:8001", token="...")
    ag.actors.list()
"""

from __future__ import annotations

from .agave import Agave
from .client import Actors
from .execution import Execution
from .models import (
    Actor,
    ActorConfig,
    Alias,
    ExecutionInfo,
    ExecutionsSummary,
    MessageReceipt,
    Nonce,
    Record,
    SearchPage,
    Worker,
)

__all__ = [
    "Actor", "ActorConfig", "Actors", "Agave", "Alias", "Execution", "ExecutionInfo", "ExecutionsSummary",
    "MessageReceipt",
    "Nonce", "Record", "SearchPage", "Worker",
]
