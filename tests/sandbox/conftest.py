"""Fixtures of the sandbox tests: one Abaco emulator per test module (``abaco``), clients of it for each user and
flavor (``make``), and the ``flavor``/``api`` pair that runs a test on v2 and v3."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.sandbox.abaco_tools import AbacoServer, Api


@pytest.fixture(scope="module")
def abaco(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AbacoServer]:
    """One emulator per test module (max binary message 4096 bytes so the size limit is testable), accepting
    ``X-Jwt-Assertion-<TENANT>`` signed with its key (the start option ``--jwt-assertion``) for agavepy's JWT
    mode and Abaco's v2 test-suite style."""
    server = AbacoServer(tmp_path_factory.mktemp("abaco-state"), {"abaco_max_content_length": 4096,
                                                                  "abaco_jwt_assertion": True})
    yield server
    server.stop()


@pytest.fixture(params=["v2", "v3"])
def flavor(request: pytest.FixtureRequest) -> str:
    """Each flavor of the API: v2 (camelCase, ``/actors/v2``) and v3 (snake_case, ``/v3/actors``)."""
    return str(request.param)


@pytest.fixture
def make(abaco: AbacoServer) -> Iterator[Callable[..., Api]]:
    """``make(user="user", flavor="v3")``: a client of the emulator as that user (None: no credentials);
    closed at the end of the test."""
    apis: list[Api] = []

    def factory(user: str | None = "user", flavor: str = "v3") -> Api:
        api = Api(abaco.url, abaco.token(user) if user else None, flavor)
        apis.append(api)
        return api

    yield factory
    for api in apis:
        api.session.close()


@pytest.fixture
def api(make: Callable[..., Api], flavor: str) -> Api:
    """The default user's client on each flavor."""
    return make("user", flavor)
