"""``python -m vsmanager`` and the ``vsmanager`` command (pyproject's script points here)."""

import signal
from typing import NoReturn

EXIT_INTERRUPTED = 130  # as a shell reports a command ended by Ctrl+C


def run() -> NoReturn:
    # Ctrl+C while the imports run (a second or two on a slow disk) ends the process the
    # default way, by the signal: no KeyboardInterrupt traceback from inside some library.
    # From main() on, Ctrl+C is a KeyboardInterrupt again, which every command handles.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    from vsmanager.cli import main

    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code = main()
    except KeyboardInterrupt:  # between two of main's own handlers (argument parsing...)
        code = EXIT_INTERRUPTED
    raise SystemExit(code)


if __name__ == "__main__":
    run()
