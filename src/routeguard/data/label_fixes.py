"""Label fixes from the audit against ``docs/label_policy.md``: records dropped or relabelled, with the
reason for each rule. Applied by the builder before deduplication; the card lists what changed."""
from __future__ import annotations

from collections import Counter

from .schema import Record


def apply_label_fixes(records: list[Record]) -> tuple[list[Record], dict]:
    """Returns (records after the fixes, {rule: count}). Placeholder until the audit's rules land."""
    return records, dict(Counter())
