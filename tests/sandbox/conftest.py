"""Fixtures of the sandbox tests: one Abaco emulator per test module (``abaco``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sandbox.abaco_tools import AbacoServer


@pytest.fixture(scope="module")
def abaco(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AbacoServer]:
    """One emulator per test module (max binary message 4096 bytes so the size limit is testable), accepting
    ``X-Jwt-Assertion-<TENANT>`` signed with its key (the start option ``--jwt-assertion``) for agavepy's JWT
    mode and Abaco's v2 test-suite style."""
    server = AbacoServer(tmp_path_factory.mktemp("abaco-state"), {"abaco_max_content_length": 4096,
                                                                  "abaco_jwt_assertion": True})
    yield server
    server.stop()
