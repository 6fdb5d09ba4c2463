"""Board adapter for `host`: builds the model and the RPC server into a native executable;
"flash" starts it listening on a local TCP port. See kiln/boards/adapter.py for the protocol."""
import json
import sys
from pathlib import Path

from kiln.boards.adapter import E_BUILD, E_FLASH, E_STATE, AdapterError, BoardAdapter, serve
from kiln.errors import KilnError


def model_name(project_dir: Path) -> str:
    maps = sorted((project_dir / "model").glob("*.kiln.json"))
    if not maps:
        raise AdapterError(E_STATE, f"{project_dir}: no generated model (call generate_project first)")
    return json.loads(maps[0].read_text())["model"]


class HostAdapter(BoardAdapter):
    def __init__(self, board_dir):
        super().__init__(board_dir)
        self.device = None

    def build(self, project_dir, options=None):
        from kiln.boards import host_device

        project = Path(project_dir)
        try:
            exe = host_device.build(project / "model", model_name(project), project / "build")
        except KilnError as e:
            raise AdapterError(E_BUILD, "the host build failed", {"stderr": str(e)}) from None
        return {"artifact": str(exe)}

    def flash(self, project_dir, options=None):
        from kiln.boards import host_device

        project = Path(project_dir)
        exe = project / "build" / f"{model_name(project)}_rpc_device"
        if not exe.exists():
            raise AdapterError(E_FLASH, f"{exe}: not built (call build first)")
        self.shutdown()
        try:
            self.device = host_device.HostDevice(exe, transport="tcp")
        except KilnError as e:
            raise AdapterError(E_FLASH, str(e)) from None
        return {"url": self.device.url}

    def open_transport(self, options=None):
        if self.device is None or not self.device.alive:
            raise AdapterError(E_STATE, "the host device is not running (call flash first)")
        return {"url": self.device.url, "timeouts": {"session_start": 5.0, "per_request": 2.0}}

    def shutdown(self):
        super().shutdown()
        if self.device is not None:
            self.device.close()
            self.device = None


if __name__ == "__main__":
    serve(HostAdapter(Path(__file__).resolve().parent))
