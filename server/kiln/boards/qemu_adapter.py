"""The board adapter of the QEMU boards (qemu-m4, qemu-m7): build = the RPC firmware, flash =
start QEMU with it, transport = QEMU's UART0 on a local TCP socket. Their adapter.py files are
two lines that serve this class for their own folder."""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import KilnError
from . import qemu_rpc
from .adapter import E_BUILD, E_FLASH, E_STATE, AdapterError, BoardAdapter


def _model(project: Path) -> tuple[str, Path]:
    maps = sorted((project / "model").glob("*.kiln.json"))
    if not maps:
        raise AdapterError(E_STATE, f"{project}: no generated model (call generate_project first)")
    return json.loads(maps[0].read_text())["model"], project / "model"


class QemuAdapter(BoardAdapter):
    def __init__(self, board_dir):
        super().__init__(board_dir)
        self.device = None

    def build(self, project_dir, options=None):
        from .. import compiler
        from ..compiler import importer, tuning

        project = Path(project_dir)
        name, model_dir = _model(project)
        source = json.loads(next(model_dir.glob("*.kiln.json")).read_text())
        # the pool size needs the planned graph: re-plan it from the model the map names
        tflite = Path(options.get("model")) if options and options.get("model") else None
        if tflite is None or not tflite.exists():
            raise AdapterError(E_BUILD, "build needs options.model: the .tflite the sources came from")
        g = importer.load(tflite)
        if g.source_sha256 != source["source_sha256"]:
            raise AdapterError(E_BUILD, f"{tflite} is not the model the sources in {model_dir} came from")
        compiler.prepare_graph(g, tuning.from_source_map(source))  # the kernel variants the sources were generated with
        try:
            elf = qemu_rpc.build_rpc(model_dir, name, project / "build", g, board=self.board_dir.name)
        except KilnError as e:
            raise AdapterError(E_BUILD, f"{self.board_dir.name}: the firmware build failed", {"stderr": str(e)}) from None
        return {"artifact": str(elf)}

    def flash(self, project_dir, options=None):
        project = Path(project_dir)
        name, _ = _model(project)
        elf = project / "build" / f"{name}_{self.board_dir.name}_rpc.elf"
        if not elf.exists():
            raise AdapterError(E_FLASH, f"{elf}: not built (call build first)")
        self.shutdown()
        try:
            self.device = qemu_rpc.QemuDevice(elf, self.board_dir.name)
        except KilnError as e:
            raise AdapterError(E_FLASH, str(e)) from None
        return {"url": self.device.url}

    def open_transport(self, options=None):
        if self.device is None or not self.device.alive:
            raise AdapterError(E_STATE, f"{self.board_dir.name} is not running (call flash first)")
        return {"url": self.device.url, "timeouts": {"session_start": 10.0, "per_request": 5.0}}

    def shutdown(self):
        super().shutdown()
        if self.device is not None:
            self.device.close()
            self.device = None
