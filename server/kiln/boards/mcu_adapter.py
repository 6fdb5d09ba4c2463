"""The board adapter of the real boards (nucleo-f746zg, nrf5340dk): build = the RPC firmware
(ELF, hex, bin), flash = the board's tool (nrfjprog, openocd or pyocd) through its probe,
transport = the probe's virtual serial port, found by USB VID/PID. Without a probe or a tool,
flash and open_transport fail with a message that says what to connect or install."""
from __future__ import annotations

import json
from pathlib import Path

from .. import compiler
from ..compiler import importer, oracle, tuning
from ..errors import KilnError
from . import mcu
from .adapter import E_BUILD, E_FLASH, E_NO_PROBE, E_STATE, AdapterError, BoardAdapter


class McuAdapter(BoardAdapter):
    def _model(self, project: Path) -> tuple[str, Path]:
        maps = sorted((project / "model").glob("*.kiln.json"))
        if not maps:
            raise AdapterError(E_STATE, f"{project}: no generated model (call generate_project first)")
        return json.loads(maps[0].read_text())["model"], project / "model"

    def build(self, project_dir, options=None):
        project = Path(project_dir)
        name, model_dir = self._model(project)
        tflite = Path((options or {}).get("model") or "")
        if not tflite.is_file():
            raise AdapterError(E_BUILD, "build needs options.model: the .tflite the sources came from")
        g = importer.load(tflite)
        source = json.loads(next(model_dir.glob("*.kiln.json")).read_text())
        compiler.prepare_graph(g, tuning.from_source_map(source))  # the kernel variants the sources were generated with
        try:
            records = oracle.random_inputs(g, count=1)  # the build wants a record; the RPC main ignores it
            fw = mcu.build(model_dir, name, project / "build", records, board=self.board_dir.name, graph=g,
                                rpc=True, profile=True)
        except KilnError as e:
            raise AdapterError(E_BUILD, f"{self.board_dir.name}: the firmware build failed", {"stderr": str(e)}) from None
        (project / "build" / "firmware.json").write_text(json.dumps({"hex": str(fw.hex)}))
        return {"artifact": str(fw.hex), "elf": str(fw.elf), "flash_bytes": fw.flash_bytes, "ram_bytes": fw.ram_bytes}

    def flash(self, project_dir, options=None):
        record = Path(project_dir) / "build" / "firmware.json"
        if not record.exists():
            raise AdapterError(E_FLASH, f"{project_dir}: not built (call build first)")
        try:
            mcu.flash(self.board_dir.name, json.loads(record.read_text())["hex"], serial=(options or {}).get("probe"))
        except KilnError as e:
            raise AdapterError(E_NO_PROBE, str(e)) from None
        return {}

    def open_transport(self, options=None):
        try:
            return {"url": mcu.find_port(self.board_dir.name, serial=(options or {}).get("probe")),
                    "timeouts": {"session_start": 5.0, "per_request": 2.0}}
        except KilnError as e:
            raise AdapterError(E_NO_PROBE, str(e)) from None
