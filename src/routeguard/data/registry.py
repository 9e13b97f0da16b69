"""The one registry of GuardZoo source loaders. Unknown names are errors, never silently skipped."""
from __future__ import annotations

from typing import TypeVar

from .schema import Source

_SOURCES: dict[str, type[Source]] = {}
S = TypeVar("S", bound=type[Source])


def register(cls: S) -> S:
    if cls.name in _SOURCES and _SOURCES[cls.name] is not cls:
        raise ValueError(f"source {cls.name!r} registered twice")
    _SOURCES[cls.name] = cls
    return cls


def _load_all() -> None:
    from . import sources  # noqa: F401  (imports every loader module, which registers itself)


def source_names() -> list[str]:
    _load_all()
    return sorted(_SOURCES)


def get_source(name: str) -> type[Source]:
    _load_all()
    try:
        return _SOURCES[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r}; known: {', '.join(sorted(_SOURCES))}") from None
