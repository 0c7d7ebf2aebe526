"""What a demo run wrote: counts per product, the time range, the ledger head, the incidents planted."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bucket_governance.demo.manifest import Incident, Manifest


@dataclass(frozen=True)
class ProductCounts:
    """What the clean history wrote and read for one product (injected incidents not included)."""

    versions: int = 0
    artifacts: int = 0
    reads: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class DemoResult:
    seed: int
    days: int
    scale: float
    start_us: int
    end_us: int
    ledger_entries: int
    last_entry_hash: str
    products: dict[str, ProductCounts]
    incidents: tuple[Incident, ...]
    elapsed_seconds: float

    @property
    def injections(self) -> tuple[str, ...]:
        return tuple(i.injection for i in self.incidents)

    @property
    def versions(self) -> int:
        return sum(c.versions for c in self.products.values())

    def manifest(self) -> Manifest:
        return Manifest(
            seed=self.seed,
            days=self.days,
            scale=self.scale,
            start_us=self.start_us,
            end_us=self.end_us,
            ledger_entries=self.ledger_entries,
            last_entry_hash=self.last_entry_hash,
            incidents=list(self.incidents),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "days": self.days,
            "scale": self.scale,
            "start_us": self.start_us,
            "end_us": self.end_us,
            "ledger_entries": self.ledger_entries,
            "last_entry_hash": self.last_entry_hash,
            "products": {p: asdict(c) for p, c in sorted(self.products.items())},
            "injections": list(self.injections),
            "incidents": [i.model_dump(mode="json") for i in self.incidents],
            "elapsed_seconds": round(self.elapsed_seconds, 3),
        }
