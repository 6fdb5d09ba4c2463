"""Where Kiln's own C sources live (the runtime and the board folders)."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "runtime_c"
BOARDS = ROOT / "board_support"
