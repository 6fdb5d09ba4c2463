"""The device path: talking to a board running a compiled model over the Kiln RPC protocol.

framing.py (frames, CRCs), protocol.py (commands, statuses, payloads), session.py (Session: the
host side), faults.py (a fault-injecting link for tests), hostdevice.py (the model served by a
native process on a pty), errors.py (what can go wrong, as KilnError subclasses)."""
from .errors import (CorruptFrameError, DeviceError, DeviceGoneError, DeviceResetError,  # noqa: F401
                     HashMismatchError, NoAnswerError, ProtocolError, RemoteError, TimerOverflowError)
from .session import Session  # noqa: F401

__all__ = ["CorruptFrameError", "DeviceError", "DeviceGoneError", "DeviceResetError", "HashMismatchError",
           "NoAnswerError", "ProtocolError", "RemoteError", "Session", "TimerOverflowError"]
