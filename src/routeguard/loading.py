"""``routeguard.load``: the embedded default, a packaged baseline by name, or a model folder."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from .encoders.base import Encoder
from .errors import ConfigError
from .guard import RouteGuard

#: Packaged models, selectable by name.
PACKAGED = {"default": "routeguard", "routeguard": "routeguard", "monolith": "monolith"}


def packaged_path(name: str) -> Path:
    if name not in PACKAGED:
        raise ConfigError(f"unknown model name {name!r}; packaged: {', '.join(sorted(PACKAGED))} "
                          "(or pass a model folder path)")
    return Path(str(resources.files("routeguard") / "models" / PACKAGED[name]))


def load(model: str | Path = "default", *, encoder: Encoder | None = None,
         operating_point: str | None = None) -> RouteGuard:
    """Load a guard: ``"default"`` (embedded RouteGuard), ``"monolith"`` (baseline), or a folder path.

    ``operating_point`` picks one of the model's named decision rules (``"default"``: at most 5 % false
    positives on benign text of every style on dev; ``"strict"``: higher recall, 15 %)."""
    if str(model) in PACKAGED:
        folder = packaged_path(str(model))
    else:
        folder = Path(model)
        if not folder.is_dir():
            raise ConfigError(f"no model folder at {folder}; packaged names: {', '.join(sorted(PACKAGED))}")
    guard = RouteGuard.from_folder(folder, encoder=encoder)
    return guard.at(operating_point) if operating_point else guard
