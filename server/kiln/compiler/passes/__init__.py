"""Graph passes, run in order by kiln.compiler: validate, constants, prepare, plan."""
