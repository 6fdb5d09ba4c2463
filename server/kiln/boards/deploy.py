"""Compile -> generate_project -> build -> flash -> RPC session, for any board with an adapter.

The one place the CLI (kiln build / flash / profile, run on boards) and the language server go
through to reach a device:

    with Deployment("model.tflite", "qemu-m4", progress=print) as d:
        outputs = d.session.infer([x])
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .. import boards, compiler
from ..compiler.ir import function_name
from ..errors import KilnError

BUILD_MARK = ".kiln-build"  # marks a board build folder as Kiln's own: cleaned before each build


def build_folder(out_dir: Path, board: str) -> Path:
    """Where a board's firmware project and build go: <output folder>/build/<board>/, emptied first
    (no stale sources from an earlier compile), so the artifact stays beside the C and nothing is
    left in the temporary folder. A folder there that Kiln did not make is never touched."""
    folder = Path(out_dir) / "build" / board
    if folder.exists():
        if not (folder / BUILD_MARK).exists():
            raise KilnError(f"{folder} exists and is not a Kiln build folder: move it away, or choose another --out")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / BUILD_MARK).write_text("Kiln's build of the firmware for this board; rebuilt at each build.\n")
    return folder


class _Connected:
    """What Deployment and Attachment share: a session with a firmware running a compiled model."""

    session = None
    compiled = None
    board = ""
    _timer_cost: int | None = None

    def cycles_per_tick(self) -> float:
        raise NotImplementedError

    def timer_cost(self) -> int:
        """Ticks of the two timer reads around every operator (TIMER_COST), asked once; 0 from
        firmware older than that command."""
        from ..device.errors import RemoteError

        if self._timer_cost is None:
            try:
                self._timer_cost = self.session.timer_cost()
            except RemoteError:
                self._timer_cost = 0
        return self._timer_cost

    def profile(self, inputs: list[np.ndarray]) -> dict:
        """One profiled inference over the RPC link: per operator cycles (less the timer reads
        around it), microseconds and share of the total."""
        self.session.infer(inputs, profile=True)
        ticks = self.session.get_timings()
        timer_hz = self.session.info_.timer_hz or 1
        k, cost = self.cycles_per_tick(), self.timer_cost()
        # exact when a tick is at most a fraction of a cycle (k < 1/2: QEMU at -icount shift=7)
        own = [max(round(t * k) - round(cost * k), 0) for t in ticks]
        total = max(sum(own), 1)
        ops = [{"index": op.index, "kind": op.kind, "function": function_name(op.index, op.kind),
                "cycles": c, "micros": c / k / timer_hz * 1e6, "share": c / total, "macs": op.macs}
               for op, c in zip(self.compiled.graph.operators, own)]
        run = self.session.last_run
        whole = getattr(run, "ticks", None) if run is not None else None
        return {"model": self.compiled.name, "board": self.board, "operators": ops,
                "timer_cost_cycles": round(cost * k),
                "total": {"cycles": sum(own), "micros": sum(own) / k / timer_hz * 1e6},
                "run": {"cycles": round(whole * k), "micros": whole * 1e6 / timer_hz} if whole else None}

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Deployment(_Connected):
    def __init__(self, model: str | Path, board: str, *, adapter: str | Path | None = None,
                 out_dir: str | Path | None = None, port: str | None = None, flash: bool = True,
                 progress=lambda msg: None, trace=None, variants: dict[int, str] | None = None):
        self.model = Path(model)
        self.board = board
        self.progress = progress
        self._tmp = tempfile.TemporaryDirectory(prefix="kiln-deploy-")
        work = Path(self._tmp.name)
        self.info = boards.find(board) if adapter is None else None
        adapter_path = Path(adapter) if adapter else self.info.folder / "adapter.py"
        self.session = None
        self.client = None
        try:
            progress(f"compiling {self.model}")
            # kernel variants: as given (kiln tune's trials), else the tuning log's for this board's CPU
            cpu = self.info.config.get("cpu") if self.info else None
            flash = self.info.config.get("flash_bytes") if self.info else None
            ram = self.info.config.get("ram_bytes") if self.info else None
            self.compiled = compiler.compile_model(self.model, variants=variants, cpu=cpu, flash_bytes=flash,
                                                   ram_bytes=ram)
            self.gen_dir = Path(out_dir) if out_dir else work / "generated"
            self.written = compiler.write(self.compiled, self.gen_dir)
            for note in self.written.notes:  # kept edits: the C built is the user's
                progress(f"note: {note}")
            self.client = boards.AdapterClient(adapter_path)
            self.server_info = self.client.call("server_info")
            self.check_fits()
            self.project = build_folder(self.gen_dir, board) if out_dir else work / "project"
            progress(f"generating the {board} project")
            self.client.call("generate_project", model_dir=str(self.gen_dir), project_dir=str(self.project), options={})
            progress(f"building for {board}")
            try:
                self.artifact = self.client.call("build", project_dir=str(self.project),
                                                 options={"model": str(self.model)}, timeout=600)["artifact"]
            except KilnError as e:
                raise KilnError(in_sources(str(e), self.project / "model", self.gen_dir)) from None
            if flash:
                progress(f"flashing {board}")
                self.client.call("flash", project_dir=str(self.project), options={"port": port} if port else {},
                                 timeout=300)
                self.url = port or self.client.call("open_transport", options={})["url"]
                from ..device.session import Session

                progress(f"connecting to {board} at {self.url}")
                self.session = Session(self.url, timeout=5.0, run_timeout=120.0,
                                       expect_sha256=self.compiled.graph.source_sha256, trace=trace)
        except BaseException:
            self.close()
            raise

    def check_fits(self) -> None:
        """A model too big for the board is an error before anything is built."""
        check_fits(self.compiled, self.board, self.server_info)

    def cycles_per_tick(self) -> float:
        """Ticks of the device timer in CPU cycles (QEMU: instructions at -icount shift=0)."""
        timer_hz = self.session.info_.timer_hz or 1
        cpu_hz = (self.info.config if self.info else {}).get("cpu_hz", timer_hz)
        return cpu_hz / timer_hz

    def close(self) -> None:
        super().close()
        if self.client is not None:
            self.client.close()
            self.client = None
        self._tmp.cleanup()


class Attachment(_Connected):
    """A firmware already running at `port` that serves the model through the RPC component (the
    user's own application): nothing is built or flashed. The model is compiled only to know its
    operators and SHA-256, by which the session finds it among the firmware's models. cpu_hz turns
    the firmware's timer ticks into cycles (default: a tick is a cycle, as with a cycle counter)."""

    def __init__(self, model: str | Path, port: str, *, cpu_hz: float | None = None, board: str | None = None,
                 progress=lambda msg: None, trace=None, compiled=None, gen_dir: str | Path | None = None):
        """gen_dir: where the C the firmware was built from is (for the editor's hints), if known."""
        from ..device.session import Session

        self.model = Path(model)
        self.gen_dir = Path(gen_dir) if gen_dir else None
        self.board = board or "your firmware"
        self.url = port
        self.cpu_hz = cpu_hz
        self.session = None
        if compiled is None:
            progress(f"compiling {self.model}")
        self.compiled = compiled or compiler.compile_model(self.model)
        progress(f"connecting to the firmware at {port} (nothing is built or flashed)")
        self.session = Session(port, timeout=5.0, run_timeout=120.0,
                               expect_sha256=self.compiled.graph.source_sha256, trace=trace)
        if self.session.info_.op_count != len(self.compiled.graph.operators):
            n = self.session.info_.op_count
            self.close()
            raise KilnError(f"the firmware at {port} runs {self.model.name} with {n} operators, this Kiln compiles "
                            f"it to {len(self.compiled.graph.operators)}: compile it again with this Kiln and rebuild")

    def cycles_per_tick(self) -> float:
        timer_hz = self.session.info_.timer_hz or 1
        return (self.cpu_hz or timer_hz) / timer_hz


def check_fits(compiled, board: str, facts: dict) -> None:
    """Raises when the model's arena or weights exceed what the board (its board.json or
    server_info: ram_bytes, flash_bytes) has for a model."""
    ram, flash = facts.get("ram_bytes"), facts.get("flash_bytes")
    name = compiled.source.name
    if ram and compiled.graph.arena_bytes > ram:
        raise KilnError(f"{name} needs {compiled.graph.arena_bytes:,} B of arena; {board} has {ram:,} B of RAM for it")
    if flash and compiled.const_bytes > flash:
        raise KilnError(f"{name} needs {compiled.const_bytes:,} B of flash for its weights; {board} has {flash:,} B")


def in_sources(message: str, copy: Path, sources: Path) -> str:
    """Compiler messages name the adapter's copy of the generated C (<project>/model/...): point them
    at the files the user has open, so an editor's problem matcher lands on the right line."""
    return message.replace(str(copy) + "/", str(Path(sources).resolve()) + "/")


def source_map(gen_dir: Path) -> dict:
    return json.loads(next(Path(gen_dir).glob("*.kiln.json")).read_text())
