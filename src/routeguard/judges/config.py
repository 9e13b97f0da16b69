"""Attach judges to a guard from configuration (pydantic; YAML with unknown keys rejected).

    judges:
      - judge: "llama-guard-3@http://gpu:8000/v1#meta-llama/Llama-Guard-3-8B?timeout=10"
        attach: domains            # the judge sees only what the router sends to these domains
        domains: [cyber]
        band: [0.2, 0.8]           # ... and only when the domain expert is unsure (optional)
      - judge: "wildguard@http://gpu:8001/v1#allenai/wildguard"
        attach: cascade            # second opinion when P(unsafe) is inside the band
        band: [0.3, 0.7]

``attach: always`` adds the judge as an always-on expert (formats that report categories only).
At most one ``cascade`` entry, applied last.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ConfigError

__all__ = ["JudgeAttachment", "JudgesConfig", "attach_judges"]


class JudgeAttachment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    judge: str = Field(description="judge spec: <format>@<base url>#<model>[?opts] or <format>@gguf:<file>")
    attach: Literal["domains", "always", "cascade"] = "domains"
    domains: list[str] = Field(default_factory=list)
    band: tuple[float, float] | None = None
    combine: Literal["judge", "max"] = "judge"

    @model_validator(mode="after")
    def _check(self) -> "JudgeAttachment":
        if self.attach == "domains" and not self.domains:
            raise ValueError("attach: domains needs a non-empty 'domains' list")
        if self.attach != "domains" and self.domains:
            raise ValueError(f"'domains' applies to attach: domains, not {self.attach!r}")
        if self.attach == "always" and self.band is not None:
            raise ValueError("'band' does not apply to attach: always")
        if self.band is not None and not (0.0 <= self.band[0] <= self.band[1] <= 1.0):
            raise ValueError(f"band must be [lo, hi] with 0 <= lo <= hi <= 1, got {list(self.band)}")
        return self


class JudgesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    judges: list[JudgeAttachment] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_cascade(self) -> "JudgesConfig":
        if sum(j.attach == "cascade" for j in self.judges) > 1:
            raise ValueError("at most one judge can be attached as the cascade")
        return self

    @classmethod
    def from_yaml(cls, path: str | Path) -> "JudgesConfig":
        import yaml

        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
            return cls.model_validate(data)
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError(f"{path}: {e}") from None
        except ValidationError as e:
            err = e.errors()[0]
            raise ConfigError(f"{path}: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None


def attach_judges(guard: Any, config: JudgesConfig | dict[str, Any] | str | Path) -> Any:
    """A new guard with the configured judges attached (a CascadeGuard if one is attached as cascade)."""
    from .cascade import CascadeGuard
    from .expert import add_judge
    from .spec import judge_from_spec

    if isinstance(config, (str, Path)):
        cfg = JudgesConfig.from_yaml(config)
    elif isinstance(config, dict):
        try:
            cfg = JudgesConfig.model_validate(config)
        except ValidationError as e:
            raise ConfigError(f"judges config: {e.errors()[0]['msg']}") from None
    else:
        cfg = config
    cascade = None
    for a in cfg.judges:
        judge, _ = judge_from_spec(a.judge)
        if a.attach == "domains":
            guard = add_judge(guard, judge, a.domains, combine=a.combine, band=a.band)
        elif a.attach == "always":
            guard = add_judge(guard, judge, None, combine=a.combine)
        else:
            cascade = (judge, a)
    if cascade is not None:
        judge, a = cascade
        guard = CascadeGuard(guard, judge, band=a.band or (0.2, 0.8), combine=a.combine)
    return guard
