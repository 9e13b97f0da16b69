"""RouteGuard: a router-expert safety guard for LLM applications and agents."""
__version__ = "0.1.0"
