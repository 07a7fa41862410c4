"""What actor code can reach from inside an execution (issue 20, item 2), over real loopback HTTP.

* The attack: a zip holding ``sitecustomize.py`` sent as a binary message with ``?PYTHONPATH=_abaco_binary_data``
  (or ``PYTHONPATH`` naming a folder the sender wrote) made a built-in sample run the sender's code as the
  sandbox's owner, for any user and for a bare EXECUTE nonce. Names that change how an interpreter, the loader or
  the C library start are now refused with a 400 naming them: in a message's query, in ``default_environment``
  on create and on update.
* The child's environment is built from an allow-list (no host variable outside it reaches actor code) and
  Python runs isolated (``-I``: no ``PYTHON*`` variable, no user site, neither the cwd nor the script's folder
  on ``sys.path``).
* Where the kernel has Landlock, an execution reads only the system, the Python installation and its own folder:
  not the state folder (wallet key, ``sandbox.json``, the token-signing secret), not other executions' folders.
"""

from __future__ import annotations

import ctypes
import io
import json
import os
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
import requests

from tests.sandbox.abaco_tools import AbacoServer, Api, execution_folder, wait_for, write_script

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the child cannot import this test module

BINARY = {"Content-Type": "application/octet-stream"}
PAYLOAD_LINE = "SITECUSTOMIZE RAN"


def _landlock_abi() -> int:
    """The kernel's Landlock ABI version (0 when it has none)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        version = int(libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))
    except (OSError, AttributeError):
        return 0
    return max(version, 0)


def _payload(marker: Path) -> str:
    """``sitecustomize.py`` of the attack: writes ``marker`` and prints a line, if ever imported."""
    return (f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
            f"print({PAYLOAD_LINE!r}, flush=True)\n")


def _zip(marker: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("sitecustomize.py", _payload(marker))
    return buffer.getvalue()


def _refused_naming(response: requests.Response, name: str) -> str:
    assert response.status_code == 400, (response.status_code, response.text[:400])
    body = response.json()
    assert body["status"] == "error" and body["result"] is None, body
    assert name in body["message"], body["message"]
    return str(body["message"])


def _executions(api: Api, actor_id: str) -> list[Any]:
    result = api.ok("GET", f"/{actor_id}/executions")
    return list(result["executions"])


@pytest.fixture
def user2(abaco: AbacoServer, make: Callable[..., Api]) -> Api:
    """testotheruser: a plain user who is not in ``--local-code-users`` (the default is user and admin)."""
    assert "testotheruser" not in abaco.service.runtime.local_code_users
    return make("user2", "v3")


@pytest.fixture
def v3(make: Callable[..., Api]) -> Api:
    return make("user", "v3")


# -- the attack ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("image", ["abacosamples/test", "abacosamples/wc"])
def test_a_zip_on_pythonpath_is_refused_for_a_user_without_local_code(user2: Api, tmp_path: Path,
                                                                       image: str) -> None:
    actor = user2.create(image=image)
    user2.wait_actor(actor["id"])
    marker = tmp_path / "ran"
    sent = user2.call("POST", f"/{actor['id']}/messages", params={"PYTHONPATH": "_abaco_binary_data"},
                      data=_zip(marker), headers=BINARY)
    _refused_naming(sent, "PYTHONPATH")
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(_payload(marker))
    sent = user2.call("POST", f"/{actor['id']}/messages", params={"PYTHONPATH": str(folder)},
                      json={"message": "hello"})
    _refused_naming(sent, "PYTHONPATH")
    assert _executions(user2, actor["id"]) == []
    assert not marker.exists()


def test_a_zip_on_pythonpath_is_refused_for_a_bare_execute_nonce(v3: Api, tmp_path: Path) -> None:
    actor = v3.create(image="abacosamples/wc")
    v3.wait_actor(actor["id"])
    nonce = v3.ok("POST", f"/{actor['id']}/nonces", json={"level": "EXECUTE"})["id"]
    marker = tmp_path / "ran"
    sent = requests.post(v3.path(f"/{actor['id']}/messages"), data=_zip(marker), headers=BINARY, timeout=10,
                         params={"x-nonce": nonce, "PYTHONPATH": "_abaco_binary_data"})
    _refused_naming(sent, "PYTHONPATH")
    assert _executions(v3, actor["id"]) == []
    assert not marker.exists()


@pytest.mark.parametrize("name", ["LD_PRELOAD", "PYTHONSTARTUP", "PYTHONWARNINGS", "NODE_OPTIONS", "BASH_ENV",
                                  "GCONV_PATH", "PATH", "HOME", "_abaco_binary_data", "a=b"])
def test_message_variables_that_change_how_programs_start_are_refused(v3: Api, name: str) -> None:
    actor = v3.create(image="abacosamples/test")
    sent = v3.call("POST", f"/{actor['id']}/messages", params={name: "/tmp/x"}, json={"message": "m"})
    message = _refused_naming(sent, name)
    assert message.startswith("Invalid message: "), message
    assert _executions(v3, actor["id"]) == []


@pytest.mark.parametrize("flavor", ["v2", "v3"])
@pytest.mark.parametrize("name", ["PYTHONPATH", "LD_PRELOAD"])
def test_default_environment_with_loader_variables_is_refused_on_create_and_update(
        make: Callable[..., Api], flavor: str, name: str) -> None:
    api = make("user", flavor)
    key = api.k("default_environment")
    before = len(api.ok("GET", ""))
    message = _refused_naming(api.call("POST", "", json={"image": "abacosamples/test", key: {name: "/tmp/x"}}), name)
    assert message.startswith("Invalid actor description: "), message
    assert len(api.ok("GET", "")) == before  # nothing registered
    actor = api.create(image="abacosamples/test", **{key: {"KEEP": "1"}})
    _refused_naming(api.call("PUT", f"/{actor['id']}", json={"image": "abacosamples/test", key: {name: "x"}}), name)
    assert api.ok("GET", f"/{actor['id']}")[key] == {"KEEP": "1"}


# -- the child's environment and interpreter ----------------------------------------------------------------------

def _environment_lines(logs: str) -> dict[str, str]:
    """``KEY=value`` lines the test sample prints after ``Environment:``."""
    _, _, tail = logs.partition("Environment:\n")
    found: dict[str, str] = {}
    for line in tail.splitlines():
        key, sep, value = line.partition("=")
        if sep and key:
            found[key] = value
    return found


def test_the_child_environment_is_an_allow_list(monkeypatch: pytest.MonkeyPatch, v3: Api, tmp_path: Path) -> None:
    marker = tmp_path / "host-sitecustomize-ran"
    (tmp_path / "sitecustomize.py").write_text(_payload(marker))
    monkeypatch.setenv("SWAN_HOST_MARKER", "host-secret-value")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # the sandbox host's own PYTHONPATH must not reach actor code
    monkeypatch.setenv("LD_LIBRARY_PATH", str(tmp_path))
    actor = v3.create(image="jstubbs/abaco_test", default_environment={"MY_SETTING": "s"})
    eid = v3.ok("POST", f"/{actor['id']}/messages", params={"MY_PARAM": "p"},
                json={"message": "one line"})["execution_id"]
    v3.wait_execution(actor["id"], eid)
    logs = v3.logs(actor["id"], eid)
    env = _environment_lines(logs)
    assert env.get("MY_SETTING") == "s" and env.get("MY_PARAM") == "p" and env.get("MSG") == "one line", logs
    own = {"PATH", "HOME", "LANG", "TMPDIR", "HOSTNAME", "MSG", "_actor_configs", "MY_SETTING", "MY_PARAM"}
    strangers = sorted(k for k in env if k not in own and not k.startswith("_abaco_"))
    assert strangers == [], logs
    assert "host-secret-value" not in logs and PAYLOAD_LINE not in logs and not marker.exists()
    workdir = env["HOME"]
    assert env["TMPDIR"] == workdir and Path(workdir).name == eid


PROBE_SCRIPT = """
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
print("PROBE " + json.dumps({"isolated": sys.flags.isolated, "no_user_site": sys.flags.no_user_site,
                             "ignore_environment": sys.flags.ignore_environment,
                             "cwd_on_path": os.getcwd() in sys.path or "" in sys.path or "." in sys.path,
                             "script_folder_on_path": here in sys.path,
                             "umask": oct(os.umask(0o077))}), flush=True)
"""


def test_python_runs_isolated_with_a_private_umask(v3: Api, tmp_path: Path) -> None:
    actor = v3.create(image=write_script(tmp_path, "probe.py", PROBE_SCRIPT))
    eid = v3.send(actor["id"], "x")
    v3.wait_execution(actor["id"], eid)
    logs = v3.logs(actor["id"], eid)
    line = next((ln for ln in logs.splitlines() if ln.startswith("PROBE ")), None)
    assert line is not None, logs
    facts = json.loads(line[len("PROBE "):])
    assert facts == {"isolated": 1, "no_user_site": 1, "ignore_environment": 1, "cwd_on_path": False,
                     "script_folder_on_path": False, "umask": "0o77"}, facts


# -- the filesystem boundary (Landlock) ----------------------------------------------------------------------------

def probe(paths: dict[str, str]) -> dict[str, str]:
    """Run inside a py3_func execution: try to read each path (file or folder); report what happened."""
    import os as _os

    outcome: dict[str, str] = {}
    for label, path in paths.items():
        try:
            if _os.path.isdir(path):
                _os.listdir(path)
            else:
                with open(path, "rb") as fh:
                    fh.read(1)
            outcome[label] = "read"
        except PermissionError:
            outcome[label] = "denied"
        except OSError as exc:
            outcome[label] = f"error {exc.errno}"
    with open("own-file.txt", "w") as fh:
        fh.write("mine")
    with open("own-file.txt") as fh:
        outcome["own folder"] = "read" if fh.read() == "mine" else "wrong"
    api_server = _os.environ.get("_abaco_api_server", "")  # noqa: SIM112 (Abaco's own lower-case name)
    outcome["api"] = "seen" if api_server.startswith("http://127.0.0.1:") else "missing"
    return outcome


@pytest.mark.skipif(_landlock_abi() < 1, reason="the kernel has no Landlock: the filesystem boundary is documented "
                                                "as not enforced on such machines")
def test_an_execution_cannot_read_the_state_folder_or_other_executions(sandbox: dict[str, Any]) -> None:
    state = Path(os.environ["SWAN_SANDBOX_STATE"])
    abaco = sandbox["abaco"]
    api = Api(abaco["url"], abaco["users"]["user"]["token"], "v3")
    wallet = Path(sandbox["chain"]["wallet"]["private_key_file"])
    assert wallet.is_file() and (state / "sandbox.json").is_file()
    try:
        busy = api.create(image="abacosamples/sleep_loop")
        busy_eid = api.send(busy["id"], json.dumps({"iterations": 1, "sleep": 30}))
        api.wait_execution(busy["id"], busy_eid, "RUNNING")
        other_folder = wait_for(lambda: execution_folder(busy_eid), lambda p: p is not None)
        paths = {"wallet key": str(wallet), "sandbox.json": str(state / "sandbox.json"), "state folder": str(state),
                 "jwt secret": str(state / "abaco" / "jwt_secret"), "other execution": other_folder,
                 "this test": str(Path(__file__).resolve())}
        actor = api.create(image="abacosamples/py3_func")
        sent = api.ok("POST", f"/{actor['id']}/messages", headers=BINARY,
                      data=cloudpickle.dumps({"func": probe, "args": [paths], "kwargs": {}}))
        eid = sent["execution_id"]
        api.wait_execution(actor["id"], eid)
        answer = api.call("GET", f"/{actor['id']}/executions/{eid}/results")
        assert answer.status_code == 200 and answer.content, api.logs(actor["id"], eid)
        outcome = cloudpickle.loads(answer.content)
        assert outcome == {**{label: "denied" for label in paths}, "own folder": "read", "api": "seen"}, outcome
        api.ok("DELETE", f"/{busy['id']}/executions/{busy_eid}")
    finally:
        for listed in api.ok("GET", ""):
            if listed["image"] in ("abacosamples/sleep_loop", "abacosamples/py3_func"):
                api.call("DELETE", f"/{listed['id']}")
        api.session.close()


def test_an_actor_stored_before_the_rule_runs_without_its_refused_variables(abaco: AbacoServer, v3: Api,
                                                                            tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(_payload(tmp_path / "ran"))
    actor = v3.create(image="jstubbs/abaco_test", default_environment={"KEPT": "k"})
    stored = abaco.service.store.get("actors", actor["id"])
    assert stored is not None
    stored["default_environment"] = {"KEPT": "k", "PYTHONPATH": str(tmp_path), "LD_PRELOAD": "/nonexistent.so"}
    abaco.service.store.put_actor(stored)  # as an older sandbox (or a hand-edited store) would hold it
    eid = v3.send(actor["id"], "old")
    v3.wait_execution(actor["id"], eid)
    logs = v3.logs(actor["id"], eid)
    assert logs.startswith("[sandbox] not passed to the execution (they change how a program starts): "
                           "LD_PRELOAD, PYTHONPATH\n"), logs
    env = _environment_lines(logs)
    assert env.get("KEPT") == "k" and "PYTHONPATH" not in env and "LD_PRELOAD" not in env, logs
    assert PAYLOAD_LINE not in logs and not (tmp_path / "ran").exists()


def test_a_wc_reducer_is_an_actor_not_a_path_under_the_owners_token(v3: Api) -> None:
    """wc posts its counts to ``/actors/v2/<reducer>/messages`` with its owner's token: a sender who may only
    execute it must not steer that POST to another route (``<victim>/state?`` would set the victim's state)."""
    victim = v3.create(image="abacosamples/test", stateless=False)
    v3.ok("POST", f"/{victim['id']}/state", json={"kept": True})
    counter = v3.create(image="abacosamples/wc", token=True)
    nonce = v3.ok("POST", f"/{counter['id']}/nonces", json={"level": "EXECUTE"})["id"]
    for reducer in (f"{victim['id']}/state?", f"{victim['id']}/state#", "../x"):
        sent = requests.post(v3.path(f"/{counter['id']}/messages"), params={"x-nonce": nonce}, timeout=10,
                             json={"text": "a b", "reducer": reducer})
        assert sent.status_code == 200, sent.text[:300]
        eid = sent.json()["result"]["execution_id"]
        v3.wait_execution(counter["id"], eid)
        assert v3.ok("GET", f"/{victim['id']}/state")["state"] == {"kept": True}, reducer
        assert "Invalid reducer" in v3.logs(counter["id"], eid), reducer
