"""devhost's durable engine: azure-functions-durable 1.7.0 orchestrators replayed over a SQLite history.

See devhost-interface.md for the API and durable-host.md §2.3 for the algorithm.
"""

from devhost.engine.engine import DurableEngine, InstanceExists, UnknownFunction

__all__ = ["DurableEngine", "InstanceExists", "UnknownFunction"]
