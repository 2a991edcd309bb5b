"""Client commands that talk to a running vsmanager (console, status, start, stop, send).

Placeholder until the terminal client lands: registers nothing yet.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_commands(commands: "argparse._SubParsersAction[Any]") -> None:
    return None
