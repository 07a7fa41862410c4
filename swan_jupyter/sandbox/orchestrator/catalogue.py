"""The sandbox's hardware catalogue: names, descriptions, regions and prices as the real Orchestrator serves them.

Prices are decimal strings of SWAN per hour; :func:`chain_prices` converts them exactly to wei for the contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

REGIONS = ("Quebec-CA", "North Carolina-US", "Hong Kong-HK")


@dataclass(frozen=True)
class Machine:
    hardware_id: int
    name: str
    gpu: str | None
    vcpu: int
    memory_gib: int
    price: str
    regions: tuple[str, ...]
    available: bool = True

    @property
    def type(self) -> str:
        return "GPU" if self.gpu else "CPU"

    @property
    def description(self) -> str:
        return f"{self.gpu or 'CPU only'} · {self.vcpu} vCPU · {self.memory_gib} GiB"

    def wire(self, snapshot_id: int, now: int) -> dict[str, Any]:
        return {
            "hardware_id": self.hardware_id, "hardware_name": self.name, "hardware_description": self.description,
            "hardware_type": self.type, "region": list(self.regions), "hardware_price": self.price,
            "hardware_status": "available" if self.available else "unavailable", "snapshot_id": snapshot_id,
            "expiry_time": now + 3600,
            "ssh_ready": [{"cp_account_address": PROVIDERS[i % len(PROVIDERS)]["cp_account_address"], "region": r}
                          for i, r in enumerate(self.regions)],
        }


MACHINES: tuple[Machine, ...] = (
    Machine(0, "C1ae.small", None, 2, 2, "0.48", REGIONS),
    Machine(1, "C1ae.medium", None, 4, 8, "1.0", REGIONS),
    Machine(2, "M1ae.small", None, 2, 16, "0.75", ("Quebec-CA", "North Carolina-US")),
    Machine(12, "G1ae.small", "NVIDIA 3080", 4, 8, "10.0", ("Quebec-CA",)),
    Machine(13, "G1ae.medium", "NVIDIA 4090", 8, 32, "12.35", ("Quebec-CA", "Hong Kong-HK")),
    Machine(20, "Hpc1ae.small", "NVIDIA A100", 16, 64, "25.5", ("North Carolina-US",), available=False),
)

PROVIDERS: tuple[dict[str, Any], ...] = tuple(
    {"id": 70 + i, "name": f"cp-{region.split('-')[0].lower().replace(' ', '-')}-{i + 1}",
     "node_id": f"04a1{i:02d}" + "0" * 58, "cp_account_address": "0x" + f"{0xEF670000 + i:08x}" + "0" * 32,
     "owner_address": "0x" + f"{0xA0000000 + i:08x}" + "0" * 32,
     "worker_address": "0x" + f"{0xB0000000 + i:08x}" + "0" * 32,
     "beneficiary": "0x" + f"{0xC0000000 + i:08x}" + "0" * 32, "region": region,
     "lat": lat, "lon": lon, "multi_address": [f"/ip4/127.0.0.1/tcp/{8085 + i}"], "online": 1,
     "freeze_online": 0, "task_types": "[1, 2, 3, 4]", "version": "2.0", "created_at": 1726000000,
     "updated_at": 1726523000}
    for i, (region, lat, lon) in enumerate(((REGIONS[0], 46.8, -71.2), (REGIONS[1], 35.8, -78.6),
                                            (REGIONS[2], 22.3, 114.2)))
)

EXAMPLE_APPS = (
    {"name": "hello-world", "url": "https://github.com/alphaflows/hello.git"},
    {"name": "hello_world", "url": "https://github.com/alphaflows/hello.git"},
    {"name": "tetris", "url": "https://github.com/alphaflows/tetris-docker-image"},
)


def by_name(name: str) -> Machine | None:
    return next((m for m in MACHINES if m.name == name), None)


def by_id(hardware_id: int) -> Machine | None:
    return next((m for m in MACHINES if m.hardware_id == hardware_id), None)


def chain_prices() -> list[Any]:
    """The catalogue as the chain module registers it (exact wei per hour)."""
    from ..chain import HardwarePrice

    return [HardwarePrice(m.hardware_id, m.name, int(Decimal(m.price) * 10**18), m.available) for m in MACHINES]
