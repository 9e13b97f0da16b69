"""What a GuardZoo build produced: the records and the figures the card reports."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .schema import Record


@dataclass
class BuildReport:
    records: list[Record]
    loaded: Counter = field(default_factory=Counter)
    broken: dict[str, str] = field(default_factory=dict)
    exact_dups: int = 0
    near_dups: int = 0
    label_conflicts: int = 0
    leakage_exact: int = 0
    leakage_near: int = 0
    seconds: float = 0.0
    label_fixes: dict = field(default_factory=dict)   # what the label audit changed (label_fixes.py)
