"""The sandbox's hardware catalogue, computing providers and example apps (the fields swan-sdk 0.1.4 reads:
swan/object/cp_config.py, InstanceResource; swan/object/models.py, CPAccount).

Each :class:`Machine` is one instance type as the real Orchestrator lists it: a name such as ``C1ae.small``, a
description in the ``"<GPU or 'CPU only'> · <n> vCPU · <m> GiB"`` form that swan-sdk parses
(``parse_resource_string`` in ``Orchestrator.create_task``), the regions where it is offered, a price in SWAN per
hour as a **decimal string**, and a status. :func:`chain_prices` gives the same catalogue to the chain module, which
registers it on ``ClientPayment`` (``setHardware``), so the list price and the on-chain ``hardwareInfo`` price are
the same number: ``int(Decimal(price) * 10**18)`` wei.

Custom instances (``POST /custom_instance``) are served by the smallest catalogue machine that covers the
request in the requested region: the contract only accepts payments for registered hardware at its registered
price, so a custom instance is priced and paid as that machine (see :func:`fit_custom`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from web3 import Web3

from ..chain import HardwarePrice

#: Regions served by the sandbox's computing providers.
REGIONS: tuple[str, ...] = ("Quebec-CA", "North Carolina-US", "Hong Kong-HK")

#: The price snapshot of the catalogue (the sandbox keeps one snapshot; the contract starts at 0 or 1).
SNAPSHOT_ID = 1

#: How long a listed price is promised for (seconds), reported as ``expiry_time``.
PRICE_VALIDITY_SECONDS = 3600


@dataclass(frozen=True)
class Machine:
    """One instance type of the catalogue."""

    hardware_id: int
    name: str
    gpu: str | None
    vcpu: int
    memory_gib: int
    storage_gib: int
    price: str
    regions: tuple[str, ...]
    available: bool = True
    gpu_count: int = 0

    @property
    def type(self) -> str:
        """``CPU`` or ``GPU`` (the real catalogue also has ``AI GPU``)."""
        return "GPU" if self.gpu else "CPU"

    @property
    def description(self) -> str:
        """The display string swan-sdk parses: ``"NVIDIA 3080 · 4 vCPU · 8 GiB"``."""
        return f"{self.gpu or 'CPU only'} · {self.vcpu} vCPU · {self.memory_gib} GiB"

    @property
    def status(self) -> str:
        """``available`` or ``unavailable``."""
        return "available" if self.available else "unavailable"

    @property
    def price_wei(self) -> int:
        """The price per hour in wei, exactly (``Decimal`` arithmetic, never float)."""
        return int(Decimal(self.price) * 10**18)

    def offered_in(self, region: str) -> bool:
        """Whether a task in ``region`` (a region name or ``global``) can run on this machine."""
        return self.available and (region == "global" or region in self.regions)

    def wire(self, now: int, *, legacy: bool = False) -> dict[str, Any]:
        """The machine as ``/cp/machines*`` lists it; ``legacy`` adds the Go client's ``region_detail`` map."""
        entry: dict[str, Any] = {
            "hardware_id": self.hardware_id,
            "hardware_name": self.name,
            "hardware_description": self.description,
            "hardware_type": self.type,
            "region": list(self.regions),
            "hardware_price": self.price,
            "hardware_status": self.status,
            "snapshot_id": SNAPSHOT_ID,
            "expiry_time": now + PRICE_VALIDITY_SECONDS,
            "ssh_ready": [{"cp_account_address": provider_for_region(r)["cp_account_address"], "region": r}
                          for r in self.regions] if self.available else [],
        }
        if legacy:
            entry["region_detail"] = {
                r: {"available_resource": 1 if self.available else 0,
                    "direct_access_cp": [provider_for_region(r)["cp_account_address"]],
                    "none_collateral": 0, "whitelist": 0}
                for r in self.regions
            }
        return entry


MACHINES: tuple[Machine, ...] = (
    Machine(0, "C1ae.small", None, 2, 2, 20, "0.48", REGIONS),
    Machine(1, "C1ae.medium", None, 4, 8, 40, "1.0", REGIONS),
    Machine(2, "M1ae.small", None, 2, 16, 40, "0.75", ("Quebec-CA", "North Carolina-US")),
    Machine(12, "G1ae.small", "NVIDIA 3080", 4, 8, 60, "10.0", ("Quebec-CA",), gpu_count=1),
    Machine(13, "G1ae.medium", "NVIDIA 4090", 8, 32, 100, "12.35", ("Quebec-CA", "Hong Kong-HK"), gpu_count=2),
    Machine(20, "Hpc1ae.small", "NVIDIA A100", 16, 64, 200, "25.5", ("North Carolina-US",), available=False,
            gpu_count=1),
)


def _provider(index: int, region: str, lat: float, lon: float) -> dict[str, Any]:
    def address(prefix: int) -> str:
        return str(Web3.to_checksum_address("0x" + f"{prefix + index:08x}" + "0" * 31 + "1"))

    return {
        "id": 70 + index, "name": f"cp-{region.split('-')[0].lower().replace(' ', '-')}-{index + 1}",
        "node_id": f"04a1{index:02d}" + "0" * 58, "cp_account_address": address(0xEF670000),
        "owner_address": address(0xA0000000), "worker_address": address(0xB0000000),
        "beneficiary": address(0xC0000000), "region": region, "lat": lat, "lon": lon,
        "multi_address": [f"/ip4/127.0.0.1/tcp/{8085 + index}"], "online": 1, "freeze_online": 0,
        "task_types": "[1, 2, 3, 4]", "version": "2.0", "created_at": 1726000000, "updated_at": 1726523000,
    }


#: The sandbox's computing providers, one per region (jobs of a task go to three of them).
PROVIDERS: tuple[dict[str, Any], ...] = (
    _provider(0, REGIONS[0], 46.8, -71.2),
    _provider(1, REGIONS[1], 35.8, -78.6),
    _provider(2, REGIONS[2], 22.3, 114.2),
)

#: ``/util/example_code_mapping``: demo app names and their repositories.
EXAMPLE_APPS: tuple[dict[str, str], ...] = (
    {"name": "hello-world", "url": "https://github.com/alphaflows/hello.git"},
    {"name": "hello_world", "url": "https://github.com/alphaflows/hello.git"},
    {"name": "tetris", "url": "https://github.com/alphaflows/tetris-docker-image"},
)

#: The machine used when a YAML/Dockerfile task names no hardware (swan-sdk's documented default).
DEFAULT_MACHINE = "C1ae.small"


def by_name(name: str) -> Machine | None:
    """The machine called ``name`` (exact, case-sensitive like the real API), or None."""
    return next((m for m in MACHINES if m.name == name), None)


def by_id(hardware_id: int) -> Machine | None:
    """The machine with ``hardware_id``, or None."""
    return next((m for m in MACHINES if m.hardware_id == hardware_id), None)


def provider_for_region(region: str) -> dict[str, Any]:
    """The provider of ``region`` (the first provider for an unknown region)."""
    return next((p for p in PROVIDERS if p["region"] == region), PROVIDERS[0])


def gpu_models() -> list[str]:
    """Every GPU model of the catalogue, in catalogue order."""
    return list(dict.fromkeys(m.gpu for m in MACHINES if m.gpu))


def gpu_selection(region: str) -> list[dict[str, Any]]:
    """``/gpu-selection-list`` entries for ``region`` (``all`` and ``global`` mean every region)."""
    out: list[dict[str, Any]] = []
    for machine in MACHINES:
        if not machine.gpu or not machine.available:
            continue
        for r in machine.regions:
            if region in ("all", "global") or r == region:
                out.append({"gpu_model": machine.gpu, "max_count": machine.gpu_count, "region": r})
    return out


def fit_custom(cpu: int, memory: int, storage: int, gpu_model: str | None, gpu_count: int,
               region: str) -> Machine | None:
    """The cheapest available machine that covers a custom instance request in ``region``, or None."""
    fits = [m for m in MACHINES
            if m.offered_in(region) and m.vcpu >= cpu and m.memory_gib >= memory and m.storage_gib >= storage
            and (gpu_count == 0 or (m.gpu is not None and m.gpu.lower() == (gpu_model or "").lower()
                                    and m.gpu_count >= gpu_count))]
    return min(fits, key=lambda m: (Decimal(m.price), m.hardware_id), default=None)


def chain_prices() -> list[HardwarePrice]:
    """The catalogue as the chain registers it: ``(hardware_id, name, price_per_hour_wei, active)``."""
    return [HardwarePrice(m.hardware_id, m.name, m.price_wei, m.available) for m in MACHINES]
