"""Issue 22, item 1: listings never come back silently empty.

Abaco's search (TACC/abaco actors/models.py, ``Search``) shows only actors with a permission entry for the
caller: no admin override, no ``ABACO_WORLD``, no role. The client's frames use the search and cross-check it with
each actor's own executions listing; what search misses is fetched one execution at a time, ``frame.attrs`` says
how each actor's rows were built, and one warning names the reason. Each case is checked on both flavors against
the details path (summary + one GET per execution).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from swan_jupyter.actors import Actors
from swan_jupyter.frames import actors as frames
from swan_jupyter.sandbox.abaco.auth import USER_ROLE, V3_ADMIN_ROLE, mint_token
from tests.sandbox.abaco_tools import AbacoServer

IMAGE = "jstubbs/abaco_test"  # a short script: executions end fast


def _client(abaco: AbacoServer, user: str, flavor: str) -> Actors:
    return Actors(abaco.url, token=abaco.token(user), flavor=flavor)  # type: ignore[arg-type]


def _role_client(abaco: AbacoServer, flavor: str) -> Actors:
    """testotheruser holding the v3 admin role ``abaco_admin``: it reads every actor through that role."""
    token = mint_token(abaco.service._secret, "testotheruser", "dev", (V3_ADMIN_ROLE, USER_ROLE), 3600)
    return Actors(abaco.url, token=token, flavor=flavor)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def shared(abaco: AbacoServer) -> Iterator[dict[str, Any]]:
    """jdoe's actors (v3 and v2 share one store): one private, one shared with ABACO_WORLD, one with an alias;
    three executions each, all complete."""
    jdoe = _client(abaco, "user", "v3")
    private = jdoe.add({"image": IMAGE, "name": "fb-private"})
    world = jdoe.add({"image": IMAGE, "name": "fb-world"})
    aliased = jdoe.add({"image": IMAGE, "name": "fb-aliased"})
    jdoe.grant(str(world.id), "ABACO_WORLD", "READ")
    jdoe.add_alias("fb-alias", str(aliased.id))
    sent = [jdoe.send_message(str(a.id), f"m{i}") for a in (private, world, aliased) for i in range(3)]
    for execution in sent:
        execution.wait(60, poll=0.05)
    yield {"private": str(private.id), "world": str(world.id), "aliased": str(aliased.id)}
    jdoe.close()


def _frame_and_warnings(run: Any) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = run()
    return frame, [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]


CASES = {
    # case: (client maker, selection maker, words the warning must hold)
    "admin": (lambda ab, fl: _client(ab, "admin", fl), lambda s: [s["private"]], "admin or through a role"),
    "world": (lambda ab, fl: _client(ab, "user2", fl), lambda s: [s["world"]], "ABACO_WORLD"),
    "role": (_role_client, lambda s: [s["private"]], "admin or through a role"),
    "alias": (lambda ab, fl: _client(ab, "admin", fl), lambda s: ["fb-alias"], "admin or through a role"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_metrics_frame_has_the_rows_of_the_details_path(abaco: AbacoServer, shared: dict[str, Any],
                                                       flavor: str, case: str) -> None:
    make, select, reason = CASES[case]
    client = make(abaco, flavor)
    try:
        selection = select(shared)
        frame, said = _frame_and_warnings(lambda: frames.execution_metrics(client, selection, progress_after=-1))
        details = frames.execution_metrics(client, selection, method="details", progress_after=-1)
        assert len(details) == 3
        assert sorted(frame["execution_id"]) == sorted(details["execution_id"])
        actor_id = str(details["actor_id"].iloc[0])
        assert frame.attrs["built"] == {actor_id: "search + details"}
        assert reason in frame.attrs["fallback"][actor_id]
        assert len(said) == 1 and reason in said[0] and "fetched 3 executions one by one" in said[0]
        # a refresh is cross-checked the same way
        again, said = _frame_and_warnings(lambda: frames.refresh_execution_metrics(client, frame,
                                                                                    progress_after=-1))
        assert sorted(again["execution_id"]) == sorted(details["execution_id"])
        assert again.attrs["built"][actor_id] == "search + details"
    finally:
        client.close()


def test_the_owner_frame_is_built_by_search_alone(abaco: AbacoServer, shared: dict[str, Any], flavor: str) -> None:
    client = _client(abaco, "user", flavor)
    try:
        frame, said = _frame_and_warnings(lambda: frames.execution_metrics(client, [shared["private"]],
                                                                           progress_after=-1))
        assert len(frame) == 3 and said == []
        assert frame.attrs["built"] == {shared["private"]: "search"} and frame.attrs["fallback"] == {}
    finally:
        client.close()


def test_the_owners_frame_costs_no_request_per_actor(abaco: AbacoServer, shared: dict[str, Any], flavor: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The owner of an actor always holds a permission entry on it, so search sees all its executions: no summary
    request per actor for the cross-check (50 actors cost 50 round trips to a remote Abaco)."""
    import requests.adapters

    sent: list[str] = []
    original = requests.adapters.HTTPAdapter.send

    def counting(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(f"{request.method} {request.path_url.split('?')[0]}")
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", counting)
    client = _client(abaco, "user", flavor)
    try:
        frame, _said = _frame_and_warnings(lambda: frames.execution_metrics(client, [shared["private"]],
                                                                            progress_after=-1))
        assert len(frame) == 3 and frame.attrs["built"] == {shared["private"]: "search"}
        assert not [s for s in sent if s.endswith("/executions") and "/search/" not in s], sent
    finally:
        client.close()


@pytest.mark.parametrize("case", list(CASES))
def test_search_frame_adds_what_search_cannot_see(abaco: AbacoServer, shared: dict[str, Any], flavor: str,
                                                 case: str) -> None:
    make, select, reason = CASES[case]
    client = make(abaco, flavor)
    try:
        actor_id = str(client.get(select(shared)[0]).id)
        filters = {"actor_id": actor_id, "status": "COMPLETE"}
        page = client.search("executions", filters)
        assert len(page) == 0  # what Abaco's search answers this caller
        frame, said = _frame_and_warnings(lambda: frames.search_frame("executions", page, client=client,
                                                                      filters=filters))
        details = frames.execution_metrics(client, [actor_id], method="details", progress_after=-1)
        assert sorted(frame["execution_id"]) == sorted(details["execution_id"])
        assert frame.attrs["built"] == {actor_id: "search + details"}
        assert len(said) == 1 and reason in said[0]
        none, _ = _frame_and_warnings(lambda: frames.search_frame(
            "executions", page, client=client, filters={"actor_id": actor_id, "status": "ERROR"}))
        assert len(none) == 0  # the filters apply to the rows fetched one by one
    finally:
        client.close()
