"""``python -m vsmanager`` and the ``vsmanager`` command (pyproject's script points here)."""

import signal
import sys
from typing import NoReturn

EXIT_INTERRUPTED = 130  # as a shell reports a command ended by Ctrl+C
SIMULATE = "simulate"


def run() -> NoReturn:
    # Ctrl+C while the imports run (a second or two on a slow disk) ends the process the
    # default way, by the signal: no KeyboardInterrupt traceback from inside some library.
    # From main() on, Ctrl+C is a KeyboardInterrupt again, which every command handles.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if sys.argv[1:2] == [SIMULATE]:
        _simulate()
    from vsmanager.cli import main

    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code = main()
    except KeyboardInterrupt:  # between two of main's own handlers (argument parsing...)
        code = EXIT_INTERRUPTED
    raise SystemExit(code)


def _simulate() -> NoReturn:
    # The simulator is the game vsmanager starts on every run of the demo and the tests: it
    # imports nothing of the web stack, so it starts in a tenth of the time the full command
    # line takes to import. Its arguments and help are the same as through cli.main.
    from vsmanager.game import simulator

    signal.signal(signal.SIGINT, signal.default_int_handler)
    raise SystemExit(simulator.main(sys.argv[2:]))


if __name__ == "__main__":
    run()
