"""The command line: one click group assembled from the commands in policydsl.commands (one module per
command), each imported only when it runs or --help lists it. Exit codes: 0 ok, 1 problem found, 2 bad
input (a missing optional extra included), 3 an internal error."""
from __future__ import annotations

from importlib import import_module

import click

from policydsl.commands.common import help_text

COMMANDS = {
    "check": "check", "eval": "eval", "test": "test", "inventory": "inventory", "docs": "docs", "fmt": "fmt",
    "lsp": "lsp", "explain-code": "explain_code", "init": "init", "rollout": "rollout", "diff": "diff",
    "verify": "verify", "score": "score", "serve": "serve", "replay": "replay",
}
"""Command name -> its module in policydsl.commands."""


class _LazyGroup(click.Group):
    """A click group whose commands (COMMANDS) are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            module = import_module(f"policydsl.commands.{COMMANDS[name]}")
            for command in module.COMMANDS:
                self.commands.setdefault(command.name, command)
        return super().get_command(ctx, name)


@click.group(cls=_LazyGroup, help=help_text("main"), context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="policydsl")
def main() -> None:
    pass


if __name__ == "__main__":  # pragma: no cover
    main()
