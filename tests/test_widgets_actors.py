"""ActorMessageForm and ExecutionExplorer headless against the sandbox's Abaco emulator (real executions)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from swan_jupyter.actors import Actors
from swan_jupyter.widgets.explorer import ExecutionExplorer
from swan_jupyter.widgets.message_form import ActorMessageForm


@pytest.fixture
def actors(abaco_sandbox: dict[str, Any]) -> Actors:
    abaco = abaco_sandbox["abaco"]
    return Actors(abaco["url"], token=abaco["users"]["user"]["token"], flavor="v3")


def test_message_round_trip_from_the_form(actors: Actors) -> None:
    actor = actors.add({"image": "abacosamples/wc", "name": "form-wc"})
    form = ActorMessageForm(actors, background=False, wait_timeout=60)
    assert actor.id in [value for _label, value in form.actor.options]
    form.actor.value = actor.id
    form.kind.value = "JSON"
    form.message.value = "{not json"
    assert "Invalid JSON" in form.message_error.value
    form.send()
    assert "valid message" in form.status.value and form.execution is None
    form.kind.value = "Text"
    form.message.value = "one two three four"
    form.add_env("COLOR", "blue")
    form.send_button.click()
    assert form.execution is not None and form.execution.status == "COMPLETE", form.status.value
    assert "COMPLETE" in form.status.value and "Logs" in form.output.value
    # abacosamples/wc sends its word count as one bytes result (samples/word_count/wc.py in TACC/abaco)
    assert form.results and json.loads(form.results[0]) == {"one": 1, "two": 1, "three": 1, "four": 1}, form.logs
    form.add_env("_abaco_secret", "x")
    form.send()
    assert "ValidationError" in form.status.value and "_abaco" in form.status.value
    form.env_rows.children = ()
    form.mode.value = "Synchronous"
    form.message.value = "a b"
    form.send()
    assert form.sync_result is not None and "Synchronous execution finished" in form.status.value
    actors.delete(actor.id)


def test_explorer_on_real_executions(actors: Actors) -> None:
    made = [actors.add({"image": "abacosamples/wc", "name": f"explore-{i}"}) for i in range(2)]
    executions = [actors.send_message(a.id, "x y z") for a in made for _ in range(2)]
    for execution in executions:
        execution.wait(60, poll=0.2)
    explorer = ExecutionExplorer(actors=actors, background=False)
    ids = {a.id for a in made}
    assert ids <= {value for _label, value in explorer.actor_filter.options}
    explorer.set_filters(actors=sorted(ids))
    assert len(explorer.filtered) == 4 and explorer.summary()["success_rate"] == 1.0
    assert explorer.summary()["duration_p50_s"] is not None and "100.0%" in explorer.summary_html.value
    for a in made:
        actors.delete(a.id)
