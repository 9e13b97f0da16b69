"""Expert guards: each scores the conversations routed to it over its own categories."""
from .base import Expert, HeadExpert

__all__ = ["Expert", "HeadExpert"]
