"""What can go wrong on the device link, as KilnError subclasses (one line each, exit status 2)."""
from __future__ import annotations

from ..errors import KilnError


class DeviceError(KilnError):
    """Base class of every device-link problem."""


class NoAnswerError(DeviceError):
    """The device sent no answer (not even a corrupted one) within the timeout, after every retry."""


class CorruptFrameError(DeviceError):
    """Answers kept arriving corrupted (or the device kept rejecting our frames as corrupted), or
    data failed its end-to-end CRC, after every retry."""


class DeviceResetError(DeviceError):
    """The device restarted (or was reset) during the session: its inputs and outputs are gone."""


class DeviceGoneError(DeviceError):
    """The link itself failed: the port vanished, the process behind it exited, the socket closed."""


class HashMismatchError(DeviceError):
    """The firmware was built from another model than the one expected."""


class ProtocolError(DeviceError):
    """The device answered something the protocol does not allow (wrong version, impossible sizes,
    a run counted twice)."""


class TimerOverflowError(DeviceError):
    """The inference took longer than the device's 32-bit timer can count: no timing is trusted."""


class RemoteError(DeviceError):
    """The device refused a request with an error status."""

    def __init__(self, message: str, status: int, detail: int | None = None):
        super().__init__(message)
        self.status = status
        self.detail = detail
