"""C code generation: one walker over the planned graph (cwriter) and literal formatting (literals)."""
