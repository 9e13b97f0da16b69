"""Typed errors. Every error message names the offending field and value."""
from __future__ import annotations


class RouteGuardError(Exception):
    """Base class of every RouteGuard error."""


class InputError(RouteGuardError, ValueError):
    """The input to judge is invalid (empty, wrong role, wrong type, non-text part, bad encoding...)."""


class ConfigError(RouteGuardError, ValueError):
    """A configuration or model folder is invalid (unknown key or name, missing artefact...)."""


class ExpertError(RouteGuardError, RuntimeError):
    """An expert failed while scoring; the guard turns this into a degraded verdict."""
