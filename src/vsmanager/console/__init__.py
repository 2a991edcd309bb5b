"""The console path: a line from the game's pipe (``capture``, ``lines``) into the ring buffer
(``buffer``), announced to readers (``feed``), counted (``counters``); and what a command may
be (``commands``).

Uses only ``config``. The pure cores here (``lines``, ``buffer``, ``commands``) do no I/O.
"""
