"""The command line: the console entry point with its fast ``analyze`` path (:mod:`.entry`), the Typer app
(:mod:`.app`) and one module per command (:mod:`.commands`).

Import from the modules themselves; this package file imports nothing (the fast path must not import Typer).
"""
