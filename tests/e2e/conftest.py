"""One local stack per e2e module (its tests use distinct template names and scoped fault rules)."""

from tests.support.stack import stack

__all__ = ["stack"]
