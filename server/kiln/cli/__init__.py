"""The `kiln` command line: compile, run, bench, inspect, build, flash, profile, tune, rpc, lsp.

Every user-facing failure is a KilnError: one line on stderr, exit status 2, no traceback
(set KILN_DEBUG=1 to see one). arguments.py declares the commands, run.py and commands.py carry
them out through the compiler's and the boards' APIs (the language server calls the same ones).
"""
from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

from ..errors import KilnError
from .arguments import parser


def apply_config(args) -> None:
    """Defaults from kiln.toml (in this folder or a parent): board, port, out. Flags win."""
    import tomllib

    here = Path.cwd()
    for folder in [here, *here.parents]:
        cfg = folder / "kiln.toml"
        if cfg.is_file():
            try:
                data = tomllib.loads(cfg.read_text())
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
                raise KilnError(f"{cfg}: not valid TOML ({e})") from None
            unknown = set(data) - {"board", "port", "out"}
            if unknown:
                raise KilnError(f"{cfg}: unknown key(s) {', '.join(sorted(unknown))} (known: board, port, out)")
            for key in ("board", "port", "out"):
                if key in data and hasattr(args, key) and getattr(args, key) is None:
                    value = str(data[key])
                    if key == "out" and getattr(args, "model", None):
                        # as the language server and the extension's tasks: <out>/<model name>, out
                        # taken relative to the folder of kiln.toml
                        value = str(folder / value / Path(args.model).stem)
                    setattr(args, key, value)
            break
    if getattr(args, "attach", None) is False and getattr(args, "port", None) and getattr(args, "board", "unset") is None:
        args.attach = True  # a port and no board: the firmware running there is the user's own
    if getattr(args, "attach", False) and args.board is None:
        args.board = f"the firmware at {args.port}"  # what the figures are labelled with
    if getattr(args, "board", "unset") is None:
        args.board = "host"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        apply_config(args)
        return args.fn(args)
    except KilnError as e:
        # one line, whatever a name from the model holds (line ends, escape sequences)
        print("kiln: error: " + "".join(ch if ch.isprintable() else "?" for ch in str(e)), file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("kiln: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `kiln ... | head`: the reader has gone; nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as e:  # a bug in Kiln: still one line, with a way to get the details
        if os.environ.get("KILN_DEBUG"):
            traceback.print_exc()
        print(f"kiln: internal error: {type(e).__name__}: {e} (set KILN_DEBUG=1 for a traceback, and please report it)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
