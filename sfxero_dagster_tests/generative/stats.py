"""What the generative suite tried, reported at the end of the session (no heavy imports: the root
conftest's hooks read it in every session)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Stats:
    """What the generative suite tried, reported at the end of the test session."""

    worlds: int = 0
    syncs: int = 0
    compared: int = 0  # live invoices compared with our arithmetic of their source
    perturbations: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)  # perturbations Salesforce or Xero refused

    def as_dict(self) -> dict:
        return {
            "worlds": self.worlds,
            "syncs": self.syncs,
            "compared": self.compared,
            "perturbations": dict(self.perturbations),
            "refused": dict(self.refused),
        }

    def merge(self, other: dict) -> None:
        self.worlds += other.get("worlds", 0)
        self.syncs += other.get("syncs", 0)
        self.compared += other.get("compared", 0)
        self.perturbations.update(other.get("perturbations", {}))
        self.refused.update(other.get("refused", {}))

    def line(self) -> str:
        applied = sum(self.perturbations.values())
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.perturbations.items()))
        refused = sum(self.refused.values())
        return (
            f"generative pipeline suite: {self.worlds} worlds, {applied} perturbations applied "
            f"({refused} refused by the sandbox), {self.syncs} syncs judged, "
            f"{self.compared} invoices compared with our arithmetic" + (f" [{kinds}]" if kinds else "")
        )


STATS = Stats()
