"""Operator definitions. Importing this package registers every supported operator."""
from . import elementwise, fully_connected, reshape, softmax, unary  # noqa: F401
from .base import REGISTRY

__all__ = ["REGISTRY"]
