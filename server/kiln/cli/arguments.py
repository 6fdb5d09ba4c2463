"""The `kiln` command line's arguments: one subparser per command, each bound to its function."""
from __future__ import annotations

import argparse

from .commands import (cmd_bench, cmd_boards, cmd_build, cmd_compile, cmd_flash, cmd_inspect, cmd_lsp, cmd_profile,
                       cmd_rpc, cmd_tune)
from .diff import cmd_diff
from .run import cmd_run


def _attach_arguments(p) -> None:
    p.add_argument("--attach", action="store_true",
                   help="the firmware at --port already serves this model (your own application with the RPC "
                        "component, `kiln rpc`): connect without building or flashing (the default when --port is "
                        "given and no --board)")
    p.add_argument("--cpu-hz", type=float, default=None,
                   help="with --attach: the CPU clock, to turn the firmware's timer ticks into cycles (default: a "
                        "tick is a cycle)")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="kiln", description="Compile TensorFlow Lite models into readable C and run them.")
    from .. import __version__
    ap.add_argument("--version", action="version", version=f"kiln {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("compile", help="compile a .tflite model into C sources")
    p.add_argument("model")
    p.add_argument("--out", "-o", required=True, help="output folder for the generated C")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--tuning-log", help="the tuning log to take kernel variants from (default: kiln-tuning.json "
                   "beside the model, when there is one)")
    p.add_argument("--board", default=None, help="the board whose CPU's tuning and flash apply (default: kiln.toml's, else host)")
    p.add_argument("--build-system", choices=("auto", "cmake", "make", "none"), default="auto",
                   help="the build files to write beside the C: cmake (CMakeLists.txt), make (kiln.mk), none, or "
                        "auto (both, and the lines that add the model to the workspace's own build; default)")
    p.set_defaults(fn=cmd_compile)

    p = sub.add_parser("tune", help="measure each operator's kernel variants on a board; keep the fastest bit-exact ones")
    p.add_argument("model")
    p.add_argument("--board", default=None, help="a board from `kiln boards` (default: kiln.toml's, else host)")
    p.add_argument("--log", help="the tuning log to write or update (default: kiln-tuning.json beside the model)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs of the bit-exact checks (default 0)")
    p.add_argument("--adapter", help="your own board adapter script instead of board_support/<board>/adapter.py")
    p.add_argument("--port", help="the device's serial port or pyserial URL (default: what the adapter finds)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(fn=cmd_tune)

    p = sub.add_parser("run", help="compile, build and run a model on a board")
    p.add_argument("model")
    p.add_argument("--board", default=None, help="board to run on: host, qemu-m4, qemu-m7 (built-in runners), or any "
                   "board of `kiln boards` through its adapter (default: kiln.toml's, else host)")
    p.add_argument("--port", help="the device's serial port (boards reached through their adapter)")
    _attach_arguments(p)
    p.add_argument("--input", "-i", action="append", default=[], help=".npy file for each model input, in order")
    p.add_argument("--output", action="append", default=[], help=".npy file to write for each model output")
    p.add_argument("--compare", action="store_true", help="also run TFLite Micro and print the largest difference")
    p.add_argument("--profile", action="store_true", help="measure and print per-operator time")
    p.add_argument("--seed", type=int, default=0, help="seed of the random input used without --input")
    p.add_argument("--out", help="keep the generated C in this folder (default: a temporary one)")
    p.add_argument("--json", action="store_true", help="print outputs (and comparison, timings) as JSON")
    p.add_argument("--sequence", action="store_true",
                   help="run a sequence of invocations from the reset state, state carried: the first axis of each "
                        "--input (and of each --output written) is the invocation")
    p.add_argument("--steps", type=int, default=10, help="with --sequence and no --input: how many random invocations")
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("diff", help="run a model operator by operator on a board and compare every operator's outputs "
                       "with TFLite Micro's: which operator is the first to differ")
    p.add_argument("model")
    p.add_argument("--board", default=None, help="a board from `kiln boards` (default: kiln.toml's, else host)")
    p.add_argument("--port", help="the device's serial port (boards reached through their adapter)")
    p.add_argument("--adapter", help="your own board adapter script instead of board_support/<board>/adapter.py")
    _attach_arguments(p)
    p.add_argument("--input", "-i", action="append", default=[], help=".npy file for each model input, in order")
    p.add_argument("--seed", type=int, default=0, help="seed of the random input used without --input")
    p.add_argument("--out", help="the folder of the generated C to build as it is, your edits included (default: a "
                   "fresh compile in a temporary folder)")
    p.add_argument("--sequence", action="store_true", help="a sequence of invocations from the reset state, state "
                   "carried (the first axis of each --input is the invocation)")
    p.add_argument("--steps", type=int, default=3, help="with --sequence and no --input: how many random invocations")
    p.add_argument("--atol", type=float, default=1e-5, help="float32 tensors: absolute tolerance (default 1e-5)")
    p.add_argument("--rtol", type=float, default=1e-4, help="float32 tensors: relative tolerance (default 1e-4)")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(fn=cmd_diff)

    p = sub.add_parser("bench", help="measure instructions, arena and flash on a simulated microcontroller")
    p.add_argument("model")
    p.add_argument("--board", default="qemu-m4", help="a QEMU board to measure on (default: qemu-m4; `kiln boards`)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random input (default 0)")
    p.add_argument("--out", help="keep the generated C in this folder (default: a temporary one)")
    p.add_argument("--opt", default="O2", choices=["O2", "Os", "O3"],
                   help="optimization level of the whole firmware (default: O2, as the published figures)")
    p.add_argument("--tuning-log", help="the tuning log to take kernel variants from (default: kiln-tuning.json "
                   "beside the model, when there is one)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(fn=cmd_bench)

    p = sub.add_parser("boards", help="list the boards (board_support/*)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_boards)

    for name, fn, text in (("build", cmd_build, "compile a model and build its firmware for a board"),
                           ("flash", cmd_flash, "build and flash a model's firmware, and check it answers"),
                           ("profile", cmd_profile, "per-operator cycles and time of one inference on a board")):
        p = sub.add_parser(name, help=text)
        p.add_argument("model")
        p.add_argument("--board", default=None, help="a board from `kiln boards` (default: kiln.toml's, else host)")
        p.add_argument("--adapter", help="your own board adapter script instead of board_support/<board>/adapter.py")
        p.add_argument("--port", help="the device's serial port or pyserial URL (default: what the adapter finds)")
        p.add_argument("--out", help="keep the generated C in this folder")
        if name == "profile":
            _attach_arguments(p)
            p.add_argument("--input", "-i", action="append", default=[], help=".npy file for each model input")
            p.add_argument("--rpc", action="store_true",
                           help="QEMU boards: profile over the RPC link (to one 40-cycle tick) instead of the exact-count firmware")
            p.add_argument("--seed", type=int, default=0)
            p.add_argument("--json", action="store_true")
            p.add_argument("--sequence", action="store_true", help="profile a sequence of invocations from the "
                           "reset state, state carried (the first axis of each --input is the invocation)")
            p.add_argument("--steps", type=int, default=10, help="with --sequence and no --input: how many")
        if name == "flash":
            p.add_argument("--exit", action="store_true", help="emulated boards: stop the device at once after the check")
        p.set_defaults(fn=fn)

    p = sub.add_parser("rpc", help="write the device RPC component (sources, CMakeLists.txt, kiln_rpc.mk) for your own "
                       "firmware, so that kiln profile / run --port reach the models in it")
    p.add_argument("--out", "-o", required=True, help="the folder to write it to, e.g. kiln_out/kiln_rpc")
    p.set_defaults(fn=cmd_rpc)

    p = sub.add_parser("inspect", help="print the model report")
    p.add_argument("model")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_inspect)

    p = sub.add_parser("lsp", help="start the Kiln language server on stdio (for editors)")
    p.set_defaults(fn=cmd_lsp)
    return ap
