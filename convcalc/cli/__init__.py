"""The command line: the console entry point with its fast ``analyze`` path (:mod:`.entry`), the option
definitions as plain data (:mod:`.options`), what every command shares (:mod:`.common`), the Typer parameters
built from the definitions (:mod:`.params`), the Typer app that registers the commands in one list (:mod:`.app`)
and one module per command (:mod:`.commands`).

Imports run one way: entry → options, common, commands.analyze (and app for everything else); app → commands,
params, options; commands → common and the library, never Typer or the app. Import from the modules themselves;
this package file imports nothing (the fast path must not import Typer).
"""
