"""The terminal client: commands that talk to a running vsmanager over its API."""

from vsmanager.remote.cli import add_commands

__all__ = ["add_commands"]
