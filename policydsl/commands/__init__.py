"""The command line's commands, one module each. They import the library; the library never imports them.

`policydsl.cli` assembles them into one click group and imports a command's module only when that
command runs (or is listed by --help): a command module imports nothing heavy at its top.
"""
