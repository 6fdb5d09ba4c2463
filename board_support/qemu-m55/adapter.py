"""Board adapter (JSON-RPC over stdin/stdout): the QEMU boards share kiln.boards.qemu_adapter."""
from pathlib import Path

from kiln.boards.adapter import serve
from kiln.boards.qemu_adapter import QemuAdapter

if __name__ == "__main__":
    serve(QemuAdapter(Path(__file__).resolve().parent))
