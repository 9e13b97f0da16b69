"""Critiques that explain verdicts: categories, the decisive span, nearest labelled training examples
with their sources, and LLM judges' rationales.

    from routeguard.explain import explain
    c = explain(routeguard.load(), "How do I make meth at home?")
    c.summary, c.evidence.text, [(e.source, e.label) for e in c.exemplars]
"""
from .critique import (CategoryReason, Critique, Evidence, Exemplar, Rationale, SpanScore, check_and_explain,
                       explain, split_units)
from .exemplars import ExemplarIndex, build_exemplar_index, default_index_path, lookup_texts

__all__ = ["CategoryReason", "Critique", "Evidence", "Exemplar", "ExemplarIndex", "Rationale", "SpanScore",
           "build_exemplar_index", "check_and_explain", "default_index_path", "explain", "lookup_texts",
           "split_units"]
