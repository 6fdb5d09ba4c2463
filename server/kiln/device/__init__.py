"""The device path: talking to a board running a compiled model over the Kiln RPC protocol.

framing.py (frames, CRCs), protocol.py (commands, statuses, payloads), channel.py (requests,
answers, resends), session.py (Session: the host side of a session), faults.py (a
fault-injecting link for tests), errors.py (what can go wrong, as KilnError subclasses). The
devices themselves are boards' (boards/host_device.py: the model served by a native process).
"""
from .errors import (CorruptFrameError, DeviceError, DeviceGoneError, DeviceResetError, HashMismatchError,  # noqa: F401
                     NoAnswerError, ProtocolError, RemoteError, TimerOverflowError)
from .session import Session  # noqa: F401

__all__ = ["CorruptFrameError", "DeviceError", "DeviceGoneError", "DeviceResetError", "HashMismatchError",
           "NoAnswerError", "ProtocolError", "RemoteError", "Session", "TimerOverflowError"]
