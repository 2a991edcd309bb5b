"""Where the game keeps its data: the folder its command line names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

_DATA_PATH = re.compile(r"^--dataPath(?:=(?P<value>.+))?$")


def data_path(server_argv: Sequence[str]) -> Path | None:
    """The ``--dataPath`` of a Vintage Story command line, if it has one."""
    for index, arg in enumerate(server_argv):
        match = _DATA_PATH.match(arg)
        if match and match["value"]:
            return Path(match["value"])
        if match and index + 1 < len(server_argv):
            return Path(server_argv[index + 1])
    return None
