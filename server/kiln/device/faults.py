"""A fault-injecting wrapper around an open pyserial link, for testing the session's recovery.

    link = FaultyLink(serial.serial_for_url(url, timeout=0.02), drop=0.01, flip=0.01, duplicate=0.01, seed=1)
    Session(link, timeout=0.2, retries=5)

Every byte that passes (in the directions chosen) is, independently and with the given
probabilities, dropped, or has one random bit flipped, or is sent twice, or is followed by a
random byte that was never sent (insert). The faults come from a
seeded random generator, so a failing run can be repeated. `counts` says how many of each were
injected. Set `paused` to let bytes through untouched for a while (e.g. while a session opens).
"""
from __future__ import annotations

import random


class FaultyLink:
    def __init__(self, link, *, drop: float = 0.0, flip: float = 0.0, duplicate: float = 0.0,
                 insert: float = 0.0, seed: int = 0, directions: str = "both"):
        for name, p in (("drop", drop), ("flip", flip), ("duplicate", duplicate), ("insert", insert)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be a probability, got {p}")
        if directions not in ("both", "tx", "rx"):
            raise ValueError("directions is 'both', 'tx' (host to device) or 'rx' (device to host)")
        self.link = link
        self.drop, self.flip, self.duplicate, self.insert = drop, flip, duplicate, insert
        self.directions = directions
        self.rng = random.Random(seed)
        self.counts = {"bytes": 0, "drop": 0, "flip": 0, "duplicate": 0, "insert": 0}
        self.paused = False

    @property
    def name(self) -> str:
        return f"faulty({getattr(self.link, 'name', None) or getattr(self.link, 'port', '?')})"

    def _mangle(self, data: bytes, direction: str) -> bytes:
        if self.paused or self.directions not in ("both", direction):
            return data
        out = bytearray()
        for b in data:
            self.counts["bytes"] += 1
            r = self.rng.random()
            if r < self.drop:
                self.counts["drop"] += 1
                continue
            r -= self.drop
            if r < self.flip:
                self.counts["flip"] += 1
                out.append(b ^ (1 << self.rng.randrange(8)))
                continue
            r -= self.flip
            if r < self.duplicate:
                self.counts["duplicate"] += 1
                out.append(b)
                out.append(b)
                continue
            r -= self.duplicate
            out.append(b)
            if r < self.insert:
                self.counts["insert"] += 1
                out.append(self.rng.randrange(256))
        return bytes(out)

    # the part of the pyserial interface the session uses
    def write(self, data: bytes) -> int:
        self.link.write(self._mangle(bytes(data), "tx"))
        return len(data)

    def read(self, size: int = 1) -> bytes:
        return self._mangle(self.link.read(size), "rx")

    @property
    def in_waiting(self) -> int:
        return self.link.in_waiting

    @property
    def timeout(self):
        return self.link.timeout

    @timeout.setter
    def timeout(self, value) -> None:
        self.link.timeout = value

    def flush(self) -> None:
        self.link.flush()

    def reset_input_buffer(self) -> None:
        self.link.reset_input_buffer()

    def close(self) -> None:
        self.link.close()
