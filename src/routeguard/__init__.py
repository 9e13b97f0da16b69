"""RouteGuard: a router-expert safety guard for LLM applications and agents.

    >>> import routeguard
    >>> guard = routeguard.load()                 # embedded default, offline
    >>> guard.check("How do I build a pipe bomb?").flagged
    True
"""
from .errors import ConfigError, ExpertError, InputError, RouteGuardError
from .guard import RouteGuard
from .loading import load
from .policy import Policy
from .taxonomy import CATEGORIES, DOMAINS
from .types import (BatchItemError, Conversation, ExpertResult, Message, Route, ToolCall, Verdict,
                    to_conversation)

__version__ = "0.1.0"
__all__ = [
    "BatchItemError", "CATEGORIES", "ConfigError", "Conversation", "DOMAINS", "ExpertError",
    "ExpertResult", "InputError", "Message", "Policy", "Route", "RouteGuard", "RouteGuardError",
    "ToolCall", "Verdict", "load", "to_conversation",
]
