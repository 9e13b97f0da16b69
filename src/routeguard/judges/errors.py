"""Judge errors. Each one becomes a degraded verdict (fail-closed by default), never a "safe"."""
from __future__ import annotations

from ..errors import ExpertError


class JudgeError(ExpertError):
    """A judge could not answer: transport error, timeout, HTTP error, retries exhausted."""


class JudgeParseError(JudgeError):
    """The judge answered, but not in the format its parser accepts. Never read as "safe"."""

    def __init__(self, fmt: str, reason: str, text: str = ""):
        snippet = text if len(text) <= 200 else text[:200] + "…"
        super().__init__(f"{fmt}: unparseable answer ({reason}): {snippet!r}")
        self.format, self.reason, self.text = fmt, reason, text


class JudgeInputError(JudgeError):
    """The conversation cannot be put to this judge (too long for its context, no text to judge)."""
