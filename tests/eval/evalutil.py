"""Helpers of the evaluation tests: tiny hand-made GuardZoo records and a fake in-process guard."""
from __future__ import annotations

from routeguard.data.schema import Record
from routeguard.eval.guards import EvalGuard, Prediction

KEYWORDS = {"bomb": "weapons_drugs_physical_harm", "hack": "cyberattack", "hate": "hate_harassment"}


def rec(i: str, text: str, label: str = "safe", cats=(), *, source: str = "src_a", language: str = "en",
        target: str = "prompt", split: str = "test", ood_source: bool = False, messages=None) -> Record:
    return Record(id=i, source=source, language=language, target=target,  # type: ignore[arg-type]
                  messages=messages or [{"role": "user", "content": text}], label=label,  # type: ignore[arg-type]
                  categories=list(cats), split=split, ood_source=ood_source,
                  ood_category=any(c in ("child_abuse", "terrorism_organized_crime") for c in cats))


class KeywordGuard(EvalGuard):
    """A fake guard: flags texts containing a keyword, routes to that keyword's domain."""

    kind = "fake"
    categories = tuple(KEYWORDS.values())
    routed = True

    def __init__(self, name: str = "keywords"):
        self.name = name
        self.calls = 0

    def predict(self, records):
        from routeguard.taxonomy import domain_of

        self.calls += 1
        out = []
        for r in records:
            text = r.messages[-1]["content"].lower()
            cats = sorted({c for k, c in KEYWORDS.items() if k in text})
            score = 0.9 if cats else 0.2 if "maybe" in text else 0.1
            out.append(Prediction(unsafe_score=score, flagged=bool(cats),
                                  category_scores={c: 0.9 for c in cats}, categories=cats,
                                  routed=["general"] + sorted({domain_of(c) for c in cats}), latency_ms=1.0))
        return out
