"""The Orchestrator emulator's endpoints over real loopback HTTP: auth, envelope, catalogue, task creation rules,
listings, legacy paths, malformed input, and persistence across a restart. The chain is a real anvil."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from web3 import Web3

from swan_jupyter.sandbox.chain import ChainProcess, payment_contract, start_chain
from swan_jupyter.sandbox.orchestrator import catalogue as cat
from tests.sandbox.orchestrator_tools import Emulator, Wallet, wallet_key

TIME_SCALE = 120.0


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainProcess]:
    process = start_chain(tmp_path_factory.mktemp("orch-api-chain"), cat.chain_prices())
    yield process
    process.stop()


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("orch-api-state")


@pytest.fixture(scope="module")
def emu(chain: ChainProcess, state_dir: Path) -> Iterator[Emulator]:
    server = Emulator(state_dir, chain, TIME_SCALE)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def wallet(chain: ChainProcess) -> Wallet:
    return Wallet(chain, wallet_key(chain))


# -- auth and envelope ------------------------------------------------------------------------------------------

def test_login_issues_a_token_and_refuses_a_bad_key(emu: Emulator) -> None:
    bad = requests.post(f"{emu.url}/login_by_api_key", data={"api_key": "nope"}, timeout=5).json()
    assert bad == {"data": None, "message": "login failed: the api_key is not valid", "status": "failed"}
    missing = requests.post(f"{emu.url}/login_by_api_key", timeout=5).json()
    assert missing["status"] == "failed"
    token = emu.login()
    assert token and token != emu.api_key


def test_auth_accepts_issued_token_raw_key_and_nothing_on_public_endpoints(emu: Emulator) -> None:
    wallet = "0x" + "ab" * 20
    path = f"{emu.url}/v2/task_list"
    for bearer in (emu.token, emu.api_key):
        answer = requests.get(path, params={"wallet_address": wallet}, timeout=5,
                              headers={"Authorization": f"Bearer {bearer}"}).json()
        assert answer["status"] == "success", answer
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": emu.api_key}):
        answer = requests.get(path, params={"wallet_address": wallet}, headers=headers, timeout=5).json()
        assert answer["status"] == "failed" and "authentication required" in answer["message"]
    for public in ("/cp/machines-dp-ssh-ready", "/cp/machines", "/cp/machines-dp", "/contract_info", "/abi_version"):
        assert requests.get(f"{emu.url}{public}", timeout=5).json()["status"] == "success", public


def test_every_error_is_a_json_envelope(emu: Emulator) -> None:
    unknown = requests.get(f"{emu.url}/no/such/path", timeout=5)
    assert unknown.status_code == 404 and unknown.json()["status"] == "failed"
    wrong_method = requests.delete(f"{emu.url}/terminate_task", timeout=5)
    assert wrong_method.json()["status"] == "failed" and "not allowed" in wrong_method.json()["message"]
    garbage = requests.post(f"{emu.url}/v2/task_deployment-dp", data=b"\xff\xfe{{{", headers={
        **emu.headers(), "Content-Type": "application/json"}, timeout=5)
    assert garbage.status_code == 200 and garbage.json()["status"] == "failed"
    assert "JSON body" in garbage.json()["message"]
    not_object = requests.post(f"{emu.url}/terminate_task", json=[1, 2], headers=emu.headers(), timeout=5).json()
    assert not_object["status"] == "failed" and "must be an object" in not_object["message"]


# -- contracts and catalogue ------------------------------------------------------------------------------------

def test_contract_info_points_at_the_local_chain_with_checksummed_addresses(emu: Emulator,
                                                                           chain: ChainProcess) -> None:
    detail = emu.get("/contract_info", auth=False)["data"]["contract_info"]["contract_detail"]
    assert detail["rpc_url"] == chain.info.rpc_url
    assert detail["client_contract_address"] == Web3.to_checksum_address(chain.info.client_payment)
    assert detail["swan_token_contract_address"] == Web3.to_checksum_address(chain.info.swan_token)
    assert Web3.is_checksum_address(detail["payment_contract_address"])


def test_catalogue_fields_and_prices_match_the_chain(emu: Emulator, chain: ChainProcess) -> None:
    hardware = emu.get("/cp/machines-dp-ssh-ready", auth=False)["data"]["hardware"]
    assert [h["hardware_name"] for h in hardware] == [m.name for m in cat.MACHINES]
    contract = payment_contract(Web3(Web3.HTTPProvider(chain.info.rpc_url)), chain.info.client_payment)
    for entry in hardware:
        assert isinstance(entry["hardware_price"], str) and isinstance(entry["region"], list)
        gpu, vcpu, memory = entry["hardware_description"].split(" · ")
        assert vcpu.endswith(" vCPU") and memory.endswith(" GiB") and int(vcpu.split()[0]) > 0
        assert entry["hardware_status"] in ("available", "unavailable")
        assert entry["hardware_type"] == ("CPU" if gpu == "CPU only" else "GPU")
        name, price, active = contract.functions.hardwareInfo(entry["hardware_id"]).call()
        assert name == entry["hardware_name"] and active == (entry["hardware_status"] == "available")
        assert price == int(Decimal(entry["hardware_price"]) * 10**18)
    assert {"G1ae.medium", "C1ae.small"} <= {h["hardware_name"] for h in hardware}
    legacy = emu.get("/cp/machines", auth=False)["data"]["hardware"]
    assert all("region_detail" in h for h in legacy)
    dp = emu.get("/cp/machines-dp", auth=False)["data"]["hardware"]
    assert [h["hardware_name"] for h in dp] == [h["hardware_name"] for h in hardware]


def test_chain_prices_are_exact_wei() -> None:
    prices = {p.name: p for p in cat.chain_prices()}
    assert prices["C1ae.small"].price_per_hour_wei == 480_000_000_000_000_000
    assert prices["G1ae.medium"].price_per_hour_wei == 12_350_000_000_000_000_000
    assert prices["Hpc1ae.small"].active is False


def test_gpu_selection_list_by_region(emu: Emulator) -> None:
    everything = emu.get("/gpu-selection-list", {"region": "all"})["data"]["gpus"]
    assert {g["gpu_model"] for g in everything} == {"NVIDIA 3080", "NVIDIA 4090"}
    hk = emu.get("/gpu-selection-list", {"region": "Hong Kong-HK"})["data"]["gpus"]
    assert hk == [{"gpu_model": "NVIDIA 4090", "max_count": 2, "region": "Hong Kong-HK"}]
    assert emu.get("/gpu-selection-list", {"region": "Mars"})["status"] == "failed"


def test_custom_instance_prices_a_fitting_machine(emu: Emulator) -> None:
    answer = emu.post("/custom_instance", {"cpu": 2, "memory": 4, "storage": 30, "gpu_model": "NVIDIA 3080",
                                           "gpu_count": 1, "region": "global"})
    data = answer["data"]
    assert answer["status"] == "success" and data["available"] is True
    assert data["price_per_hour"] == 10.0 and data["hardware_name"] == "G1ae.small"
    assert data["custom_instance"]["gpu_model"] == "NVIDIA 3080"
    cpu_only = emu.post("/custom_instance", {"cpu": 3, "memory": 4, "storage": 10})["data"]
    assert cpu_only["hardware_name"] == "C1ae.medium" and cpu_only["price_per_hour"] == 1.0
    too_big = emu.post("/custom_instance", {"cpu": 500, "memory": 4, "storage": 30})
    assert too_big["status"] == "success" and too_big["data"]["available"] is False
    for form, needle in (({"cpu": 0, "memory": 4, "storage": 30}, "cpu must be > 0"),
                         ({"cpu": "two", "memory": 4, "storage": 30}, "cpu must be an integer"),
                         ({"cpu": 2, "memory": 4}, "storage is required"),
                         ({"cpu": 2, "memory": 4, "storage": 30, "gpu_count": 1}, "gpu_model is required"),
                         ({"cpu": 2, "memory": 4, "storage": 30, "gpu_model": "TPU", "gpu_count": 1}, "unknown gpu")):
        answer = emu.post("/custom_instance", form)
        assert answer["status"] == "failed" and needle in answer["message"], (form, answer)


def test_example_apps_and_served_job_source(emu: Emulator, wallet: Wallet) -> None:
    names = {a["name"] for a in emu.get("/util/example_code_mapping")["data"]}
    assert {"hello_world", "hello-world", "tetris"} <= names
    one = emu.get("/util/example_code_mapping", {"name": "hello_world"})
    assert one["status"] == "success" and one["data"]["url"].startswith("https://")
    assert emu.get("/util/example_code_mapping", {"name": "nope"})["status"] == "failed"
    answer = emu.post("/v2/get_source_uri", {"wallet_address": wallet.address, "repo_uri": one["data"]["url"],
                                             "dp": "true", "hardware_id": 1, "repo_branch": "main"})
    assert answer["status"] == "success"
    document = requests.get(answer["data"]["job_source_uri"], timeout=5).json()["data"]
    assert document["repo_uri"] == one["data"]["url"] and document["hardware_name"] == "C1ae.medium"
    custom = emu.post("/v2/get_source_uri", {"wallet_address": wallet.address, "repo_uri": one["data"]["url"],
                                             "dp": "true", "custom_instance": '{"cpu": 2, "memory": 2, '
                                             '"storage": 10, "gpu_model": null, "gpu_count": 0}'})
    assert custom["status"] == "success"
    for form, needle in (({"wallet_address": "0x12", "repo_uri": "https://x", "hardware_id": 1}, "not an Ethereum"),
                         ({"wallet_address": wallet.address, "repo_uri": "ftp://x", "hardware_id": 1}, "repo_uri"),
                         ({"wallet_address": wallet.address, "repo_uri": "https://x", "hardware_id": 99},
                          "Unknown hardware_id")):
        bad = emu.post("/v2/get_source_uri", form)
        assert bad["status"] == "failed" and needle in bad["message"], bad


# -- task creation ----------------------------------------------------------------------------------------------

def test_created_task_carries_what_swan_sdk_reads(emu: Emulator, wallet: Wallet) -> None:
    task = emu.create(wallet.address, cfg_name="G1ae.medium", region="Hong Kong-HK", duration=5400,
                      preferred_cp="0x" + "12" * 20, ip_whitelist="1.2.3.4,10.0.0.0/24")
    assert task["status"] == "initialized" and task["refund_wallet"] == wallet.address
    detail = task["task_detail"]
    assert detail["hardware_id"] == 13 and detail["price_per_hour"] == "12.35" and detail["duration"] == 5400
    assert detail["requirements"]["region"] == "Hong Kong-HK" and detail["ip_whitelist"] == "1.2.3.4,10.0.0.0/24"
    assert "_state" not in task
    info = emu.info(task["uuid"])
    assert info["jobs"] == [] and info["config_orders"] == [] and info["computing_providers"] == []


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"cfg_name": "C9.huge"}, "Unknown hardware"),
        ({"cfg_name": "G1ae.small", "region": "North Carolina-US"}, "not offered in region"),
        ({"region": "Atlantis"}, "unknown region"),
        ({"duration": 1800}, "below the minimum"),
        ({"duration": "soon"}, "duration must be an integer"),
        ({"duration": "3_600"}, "duration must be an integer"),  # int() reads these; Go's strconv does not
        ({"duration": "\u0663\u0666\u0660\u0660"}, "duration must be an integer"),
        ({"duration": "3" * 5000}, "duration must be an integer"),
        ({"start_in": "\uff11"}, "start_in must be an integer"),
        ({"duration": None}, "duration is required"),
        ({"cfg_name": "Hpc1ae.small"}, "unavailable"),
        ({"wallet": "0xnot-a-wallet"}, "not an Ethereum address"),
        ({"wallet": "0x19E7E376E7C213B7E7E7E46CC70A5DD086DAFF2A"[:-1] + "b"}, "not an Ethereum address"),
        ({"ip_whitelist": "1.2.3.4,banana"}, "ip_whitelist"),
        ({"preferred_cp": "0x1234"}, "preferred_cp"),
        ({"deploy_type": 7}, "deploy_type must be"),
        ({"job_source_uri": None, "deploy_type": -99}, "job_source_uri is required"),
        ({"job_source_uri": None, "deploy_type": 2, "deploy_content": "hello"}, "no 'services'"),
        ({"job_source_uri": None, "deploy_type": 1}, "deploy_content"),
        ({"cfg_name": None}, "cfg_name"),
        ({"cfg_name": None, "custom_instance": "{not json"}, "custom_instance must be a JSON object"),
        ({"start_in": -5}, "start_in must be at least 0"),
    ],
)
def test_task_creation_refusals(emu: Emulator, wallet: Wallet, fields: dict[str, Any], needle: str) -> None:
    before = emu.get("/v2/task_list", {"wallet_address": wallet.address})["data"]["total"]
    form = {"duration": 3600, "cfg_name": "C1ae.small", "region": "global", "wallet": wallet.address,
            "job_source_uri": f"{emu.url}/_sources/x", "deploy_type": -99, **fields}
    answer = emu.post("/v2/task_deployment-dp", {k: v for k, v in form.items() if v is not None})
    assert answer["status"] == "failed" and answer["data"] is None
    assert needle in answer["message"], answer["message"]
    assert emu.get("/v2/task_list", {"wallet_address": wallet.address})["data"]["total"] == before


def test_yaml_dockerfile_custom_instance_and_legacy_creation(emu: Emulator, wallet: Wallet) -> None:
    yaml = emu.create(wallet.address, cfg_name=None, job_source_uri=None, deploy_type=2,
                      deploy_content='version: "2.0"\nservices:\n  web:\n    image: nginx\n')
    assert yaml["task_detail"]["hardware"] == "C1ae.small" and yaml["task_detail"]["job_source_uri"] is None
    docker = emu.create(wallet.address, job_source_uri=None, deploy_type=1, deploy_content="FROM python:3.11\n")
    assert docker["task_detail"]["deploy_type"] == 1
    custom = emu.create(wallet.address, cfg_name=None, custom_instance='{"cpu": 2, "memory": 4, "storage": 30, '
                        '"gpu_model": "NVIDIA 3080", "gpu_count": 1}')
    assert custom["task_detail"]["hardware_id"] == 12 and custom["task_detail"]["price_per_hour"] == "10.0"
    assert custom["task_detail"]["custom_instance"]["gpu_count"] == 1
    legacy = emu.post("/v2/task_deployment", {"duration": 3600, "cfg_name": "C1ae.medium", "region": "Quebec-CA",
                                              "start_in": 300, "wallet": wallet.address, "paid": "false",
                                              "job_source_uri": "https://example.invalid/space"})
    assert legacy["status"] == "success" and legacy["data"]["task"]["task_detail"]["hardware_id"] == 1
    json_body = requests.post(f"{emu.url}/v2/task_deployment-dp", headers=emu.headers(), timeout=5, json={
        "duration": 3600, "cfg_name": "C1ae.small", "wallet": wallet.address,
        "job_source_uri": "https://example.invalid/space"}).json()
    assert json_body["status"] == "success"


def test_deployment_info_of_an_unknown_task(emu: Emulator) -> None:
    answer = emu.get("/v2/task_deployment/not-a-task")
    assert answer == {"data": None, "message": "fetch task info for task_uuid='not-a-task' failed",
                      "status": "failed"}


def test_task_list_paging_newest_first_with_both_query_names(emu: Emulator, wallet: Wallet) -> None:
    other = Web3.to_checksum_address("0x" + "5a" * 20)
    made = [emu.create(other)["uuid"] for _ in range(7)]
    first = emu.get("/v2/task_list", {"wallet_address": other.lower(), "page": 1, "size": 3})["data"]
    assert (first["total"], first["total_page"], first["page"], first["size"]) == (7, 3, 1, 3)
    assert [item["task"]["uuid"] for item in first["list"]] == made[::-1][:3]
    assert set(first["list"][0]) == {"task", "jobs", "computing_providers", "config_orders"}
    last = emu.get("/v2/task_list", {"wallet": other, "page": 3, "size": 3})["data"]
    assert [item["task"]["uuid"] for item in last["list"]] == [made[0]]
    assert emu.get("/v2/task_list", {"wallet_address": other, "page": 9, "size": 3})["data"]["list"] == []
    for params, needle in (({}, "wallet_address (or wallet) is required"), ({"wallet": "bob"}, "not an Ethereum"),
                           ({"wallet": other, "page": 0}, "page must be at least 1"),
                           ({"wallet": other, "size": "x"}, "size must be an integer")):
        answer = emu.get("/v2/task_list", params)
        assert answer["status"] == "failed" and needle in answer["message"], answer


def test_misc_endpoints_refuse_unknown_things(emu: Emulator, wallet: Wallet) -> None:
    task = emu.create(wallet.address)
    cases = [("/v2/config_order_status", {"task_uuid": task["uuid"], "tx_hash": "0x" + "1" * 64}, "no config order"),
             ("/v2/config_order_status", {"task_uuid": task["uuid"], "tx_hash": "0x12"}, "not a transaction hash"),
             ("/claim_review", {"task_uuid": task["uuid"]}, "never paid"),
             ("/claim_review", {"task_uuid": "zzz"}, "fetch task info"),
             ("/terminate_task", {}, "task_uuid is required"),
             ("/v2/task_payment_validate", {"task_uuid": task["uuid"]}, "tx_hash is required"),
             ("/v2/extend_task", {"task_uuid": task["uuid"], "duration": 3600, "tx_hash": "0x" + "2" * 64},
              "only a paid, running task"),
             ("/v2/extend_task", {"task_uuid": task["uuid"], "duration": 0, "tx_hash": "0x" + "2" * 64},
              "duration must be at least 1")]
    for path, form, needle in cases:
        answer = emu.post(path, form)
        assert answer["status"] == "failed" and needle in answer["message"], (path, answer)
    payments = emu.get("/provider/payments")
    assert payments["status"] == "success" and isinstance(payments["data"]["payments"], list)


def test_terminating_an_unpaid_task_refunds_nothing(emu: Emulator, wallet: Wallet) -> None:
    task = emu.create(wallet.address)
    answer = emu.post("/terminate_task", {"task_uuid": task["uuid"]})
    assert answer["data"] == {"retryable": False, "task_status": "terminate_pending"}
    info = emu.info(task["uuid"])
    assert info["task"]["status"] == "terminated" and info["task"]["refund_amount"] == "0"
    again = emu.post("/terminate_task", {"task_uuid": task["uuid"]})
    assert again["status"] == "failed" and "already terminated" in again["message"]


def test_restart_keeps_tasks_tokens_and_api_key(chain: ChainProcess, tmp_path: Path, wallet: Wallet) -> None:
    first = Emulator(tmp_path, chain, TIME_SCALE)
    try:
        task = first.create(wallet.address)
        key, token = first.api_key, first.token
        assert oct((tmp_path / "orchestrator" / "api_key").stat().st_mode & 0o777) == "0o600"
    finally:
        first.stop()
    second = Emulator(tmp_path, chain, TIME_SCALE)
    try:
        assert second.api_key == key
        answer = requests.get(f"{second.url}/v2/task_deployment/{task['uuid']}", timeout=5,
                              headers={"Authorization": f"Bearer {token}"}).json()
        assert answer["status"] == "success" and answer["data"]["task"]["uuid"] == task["uuid"]
    finally:
        second.stop()


def test_runs_without_a_chain(tmp_path: Path) -> None:
    server = Emulator(tmp_path, None, 1.0)
    try:
        assert server.get("/contract_info", auth=False)["status"] == "failed"
        task = server.create("0x" + "cd" * 20)
        answer = server.post("/v2/task_payment_validate", {"task_uuid": task["uuid"], "tx_hash": "0x" + "3" * 64})
        assert answer["status"] == "failed" and "without a chain" in answer["message"]
    finally:
        server.stop()


ODD_VALUES = ["", " ", "0", "-1", "1e3", "99999999999999999999999999999", "null", "[]", "{}", '{"cpu": "x"}',
              "\u00e9\u4e2d\U0001f600", "0x", "0x" + "f" * 64, "a" * 5000, "1.5", "true"]
POST_PATHS = ["/login_by_api_key", "/custom_instance", "/v2/get_source_uri", "/v2/task_deployment-dp",
              "/v2/task_deployment", "/v2/task_payment_validate", "/v2/extend_task", "/terminate_task",
              "/v2/config_order_status", "/claim_review"]
FIELDS = ["api_key", "cpu", "memory", "storage", "gpu_model", "gpu_count", "region", "wallet_address", "repo_uri",
          "hardware_id", "custom_instance", "duration", "cfg_name", "wallet", "start_in", "job_source_uri",
          "deploy_type", "deploy_content", "preferred_cp", "ip_whitelist", "tx_hash", "task_uuid", "page", "size"]


def test_malformed_input_never_gives_a_server_error(emu: Emulator, wallet: Wallet) -> None:
    import random

    rng = random.Random(1234)
    session = requests.Session()
    for _ in range(300):
        path = rng.choice(POST_PATHS)
        form = {name: rng.choice(ODD_VALUES) for name in rng.sample(FIELDS, rng.randint(0, 8))}
        if rng.random() < 0.5:
            form.update({"wallet": wallet.address, "wallet_address": wallet.address, "duration": "3600"})
        response = session.post(f"{emu.url}{path}", data=form, headers=emu.headers(), timeout=10)
        assert response.status_code < 500, (path, form, response.text)
        assert response.json()["status"] in ("success", "failed")
    for path in ("/v2/task_list", "/gpu-selection-list", "/util/example_code_mapping"):
        for value in ODD_VALUES:
            params = {"wallet_address": wallet.address, "wallet": value, "page": value, "size": value,
                      "region": value, "name": value}
            response = session.get(f"{emu.url}{path}", params=params, headers=emu.headers(), timeout=10)
            assert response.status_code < 500, (path, params, response.text)
    for value in ODD_VALUES[:6]:
        response = session.get(f"{emu.url}/v2/task_deployment/{value or 'x'}", headers=emu.headers(), timeout=10)
        assert response.status_code < 500 and response.json()["status"] == "failed"
