"""Operator definitions. Importing this package registers every supported operator."""
from . import conv, copy, elementwise, fully_connected, mean, pool, reshape, softmax, unary  # noqa: F401
from .base import REGISTRY

__all__ = ["REGISTRY"]
