"""Board adapter (JSON-RPC over stdin/stdout): the real boards share kiln.boards.mcu_adapter."""
from pathlib import Path

from kiln.boards.adapter import serve
from kiln.boards.mcu_adapter import McuAdapter

if __name__ == "__main__":
    serve(McuAdapter(Path(__file__).resolve().parent))
