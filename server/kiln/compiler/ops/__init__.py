"""Operator definitions. Importing this package registers every supported operator: each module
here (one per operator family) calls base.register for the kinds it compiles."""
import importlib
import pkgutil

from .base import REGISTRY

_HELPERS = {"base", "packing", "catalog", "samples"}  # modules that register nothing
for _m in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _m not in _HELPERS:
        importlib.import_module(f"{__name__}.{_m}")

__all__ = ["REGISTRY"]
