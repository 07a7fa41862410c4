"""Not collected by a normal run (its name is not ``test_*.py``): ``tests/test_lanes.py`` runs it on purpose.

A test that starts a chain without the ``chain`` mark (as no test of the fast lane may), and ordered scenario
steps (as the Abaco scenarios are written) for the workers of the fast lane."""

from __future__ import annotations

import pytest

from tests.helpers import Scenario


def test_starts_a_chain_without_the_chain_mark() -> None:
    from swan_jupyter.sandbox.chain.anvil import find_anvil

    find_anvil()  # the first thing every chain start does


@pytest.fixture(scope="class")
def story() -> Scenario:
    return Scenario()


class TestOrderedSteps:
    """Six steps, each needing the one before, as the Abaco scenarios are written."""

    def test_step_0(self, story: Scenario) -> None:
        story["step"] = 0

    def test_step_1(self, story: Scenario) -> None:
        assert story.need("step") == 0
        story["step"] = 1

    def test_step_2(self, story: Scenario) -> None:
        assert story.need("step") == 1
        story["step"] = 2

    def test_step_3(self, story: Scenario) -> None:
        assert story.need("step") == 2
        story["step"] = 3

    def test_step_4(self, story: Scenario) -> None:
        assert story.need("step") == 3
        story["step"] = 4

    def test_step_5(self, story: Scenario) -> None:
        assert story.need("step") == 4
