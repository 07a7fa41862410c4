"""A nonce never yields another nonce (issue 20, item 3), over real loopback HTTP, on both flavors.

Real Abaco runs a nonce-authenticated request as the nonce's owner, so ``GET /actors/{id}/nonces?x-nonce=<READ>``
lists every nonce of the actor, the owner's UPDATE nonces included; with one of those, ``PUT`` turns the actor into
``abacosamples/py3_func``, which runs pickled code. The emulator refuses on purpose (FIDELITY.md): a request
authenticated by a nonce cannot list nonces, read one, or create one, on actors and on aliases.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.sandbox.abaco_tools import Api

WHY = "Not authorized -- a request authenticated by a nonce cannot list, read or create nonces"


def _by_nonce(api: Api, method: str, rest: str, nonce: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, api.path(rest), params={"x-nonce": nonce}, timeout=10, **kwargs)


def _refused(response: requests.Response) -> None:
    assert response.status_code == 400, (response.status_code, response.text[:300])
    body = response.json()
    assert body["status"] == "error" and body["result"] is None, body
    assert body["message"].startswith(WHY), body["message"]


@pytest.mark.parametrize("level", ["READ", "EXECUTE", "UPDATE"])
def test_an_actor_nonce_cannot_list_read_or_create_nonces(make: Callable[..., Api], flavor: str,
                                                          level: str) -> None:
    api = make("user", flavor)
    actor = api.create(image="abacosamples/test")
    aid = actor["id"]
    strong = api.ok("POST", f"/{aid}/nonces", json={"level": "UPDATE"})["id"]
    held = api.ok("POST", f"/{aid}/nonces", json={"level": level})["id"]
    _refused(_by_nonce(api, "GET", f"/{aid}/nonces", held))
    _refused(_by_nonce(api, "GET", f"/{aid}/nonces/{strong}", held))
    _refused(_by_nonce(api, "GET", f"/{aid}/nonces/{held}", held))
    if level == "UPDATE":  # lower levels are already refused by the level rule
        _refused(_by_nonce(api, "POST", f"/{aid}/nonces", held, json={"level": "UPDATE"}))
    listed = api.ok("GET", f"/{aid}/nonces")
    assert sorted(n["id"] for n in listed) == sorted([strong, held])  # nothing was created
    assert api.ok("GET", f"/{aid}")["image"] == "abacosamples/test"


def test_an_alias_nonce_cannot_list_or_read_alias_nonces(make: Callable[..., Api], flavor: str) -> None:
    api = make("user", flavor)
    actor = api.create(image="abacosamples/test")
    alias = f"esc-{flavor}-{actor['id'][:6].lower()}"
    api.ok("POST", "/aliases", json={"alias": alias, api.k("actor_id"): actor["id"]})
    try:
        other = api.ok("POST", f"/aliases/{alias}/nonces", json={"level": "EXECUTE"})["id"]
        read = api.ok("POST", f"/aliases/{alias}/nonces", json={"level": "READ"})["id"]
        assert _by_nonce(api, "GET", f"/aliases/{alias}", read).status_code == 200  # the nonce itself works
        _refused(_by_nonce(api, "GET", f"/aliases/{alias}/nonces", read))
        _refused(_by_nonce(api, "GET", f"/aliases/{alias}/nonces/{other}", read))
        assert len(api.ok("GET", f"/aliases/{alias}/nonces")) == 2
    finally:
        api.call("DELETE", f"/aliases/{alias}")


def test_a_token_still_lists_and_reads_nonces(make: Callable[..., Api], flavor: str) -> None:
    api = make("user", flavor)
    aid = api.create(image="abacosamples/test")["id"]
    nid = api.ok("POST", f"/{aid}/nonces", json={"level": "READ"})["id"]
    assert [n["id"] for n in api.ok("GET", f"/{aid}/nonces")] == [nid]
    assert api.ok("GET", f"/{aid}/nonces/{nid}")["id"] == nid
