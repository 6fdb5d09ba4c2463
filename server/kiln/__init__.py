"""Kiln: compile TensorFlow Lite models into readable, dependency-free C."""

__version__ = "0.1.0"
