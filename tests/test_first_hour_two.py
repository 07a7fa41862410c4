"""Issue 21, the first hour round two: specs checked before paying, interrupts that keep your place, frontends
without widgets, readable status and numbers, an explorer that tells the truth, and small frictions. Each test
drives the real shell (the ``ip`` fixture), the real widgets and the real sandbox, as the user did."""

from __future__ import annotations

from typing import Any

import pytest

from swan_jupyter.errors import ValidationError
from swan_jupyter.session import default_session, reset_default_session
from tests.helpers import TestingShell


@pytest.fixture
def capped(ip: TestingShell) -> TestingShell:
    """The shell with an unattended cap, so ``--yes`` would pay."""
    ip.run_cell('%config SwanMagics.max_auto_spend = "5"')
    return ip


def _counts() -> tuple[int, int]:
    """(tasks on the server, payments in the local ledger)."""
    orch = default_session().orchestrator()
    return orch.get_task_list(size=100)["total"], len(orch.payments.entries())


@pytest.mark.parametrize(("body", "needles"), [
    ("services: [unclosed", ["YAML", "line 1"]),
    ('version: "2.0"\nservices:\n  web:\n    image: nginx\n   expose: [\n', ["YAML", "line 5"]),
    ("version: '2.0'\n", ["services"]),
    ("- a\n- b\n", ["mapping"]),
    ('version: "2.0"\nservices:\n  web:\n    expose: []\n', ["web", "image"]),
    ("key: !!python/object:os.system x", ["YAML"]),
    ("FROM\n", ["FROM", "line 1"]),
    ("FROM python:3.11\nRUNN pip install x\n", ["RUNN", "line 2"]),
    ("ARG V=1\nFROM python:$V\nCMD python -m http.server\nFROMM x\n", ["FROMM", "line 4"]),
])
def test_a_spec_that_cannot_deploy_is_refused_before_anything_is_created_or_paid(
        sandbox: dict[str, Any], capped: TestingShell, body: str, needles: list[str]) -> None:
    """Paying for what cannot run: `%%swan_deploy ... --yes` with a broken YAML or Dockerfile body says what is
    wrong and on which line, and creates and pays nothing."""
    reset_default_session()
    before = _counts()
    flag = " --dockerfile" if body.startswith(("FROM", "ARG")) else ""
    with pytest.raises(ValidationError) as caught:
        capped.run_cell_magic("swan_deploy", f"--hardware C1ae.small --duration 1h --yes{flag} t", body)
    text = str(caught.value)
    for needle in needles:
        assert needle in text, text
    assert "t" not in capped.user_ns
    assert _counts() == before


def test_good_specs_still_deploy_and_the_core_checks_them_too(sandbox: dict[str, Any], capped: TestingShell) -> None:
    """The checks refuse only what cannot deploy: the notebook's LDL YAML and a Dockerfile with comments,
    continuations and a heredoc are created; the core's create_task refuses a broken one itself."""
    reset_default_session()
    yaml_body = ('version: "2.0"\nservices:\n  web:\n    image: nginx:latest\n    expose:\n      - port: 80\n'
                 '        as: 80\n        to:\n          - global: true\n')
    docker_body = ("# syntax=docker/dockerfile:1\nARG BASE=python:3.11\nFROM $BASE AS app\n"
                   "RUN pip install \\\n    requests\nRUN <<EOF\necho hi\nnot an instruction\nEOF\n"
                   "expose 8080\nCMD [\"python\", \"-m\", \"http.server\"]\n")
    capped.run_cell_magic("swan_deploy", "--hardware C1ae.small --duration 1h --no-pay y", yaml_body)
    capped.run_cell_magic("swan_deploy", "--hardware C1ae.small --duration 1h --no-pay d", docker_body)
    assert capped.user_ns["y"]["status"] == capped.user_ns["d"]["status"] == "initialized"
    before = _counts()
    with pytest.raises(ValidationError, match="line 1"):
        default_session().orchestrator().create_task(instance_type="C1ae.small", deploy_yaml="services: [x",
                                                     auto_pay=False)
    assert _counts() == before


@pytest.mark.parametrize(("line", "needle"), [
    ("--source-uri nonsense", "source_uri"),
    ("--source-uri ftp://example.org/x", "source_uri"),
    ("--repo github.com/me/app", "repo_uri"),
    ("--app hello-world --branch 'a b'", "branch"),
])
def test_other_sources_that_cannot_deploy_are_refused_before_paying(sandbox: dict[str, Any], capped: TestingShell,
                                                                    line: str, needle: str) -> None:
    """The same rule for the other sources: a source URI or repository that is not an http(s) URL, a branch
    with spaces: refused with the field's name, nothing created or paid."""
    reset_default_session()
    before = _counts()
    with pytest.raises(ValidationError, match=needle):
        capped.run_line_magic("swan_deploy", f"{line} --hardware C1ae.small --duration 1h --yes t")
    assert _counts() == before
