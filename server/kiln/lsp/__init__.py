"""The Kiln language server (DESIGN.md decision 7): `kiln lsp` or `python -m kiln.lsp`, stdio.

It holds no compiler or device logic: it calls the same Python APIs as the CLI
(kiln.compiler, kiln.boards, kiln.boards.deploy, kiln.compiler.oracle).
"""
