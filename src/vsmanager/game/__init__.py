"""The game: what runs it and watches it. The supervisor's state machine (``supervisor``),
one run's spawn, watch and stop (``run``), when to restart (``restart_policy``) and the armed
restart (``restart_timer``), the runs kept (``runs``), what keeps one game per world and none
orphaned (``safeguards``: the world's lock, ``instance_lock``; the helper that outlives a killed
vsmanager, ``last_resort``; ``leftovers``), how the game is launched and kept away from vsmanager's secrets
(``launch``, ``dumpable``), what its console says about it (``profile``), and the built-in
simulated Vintage Story server (``simulator``).

Uses ``console`` and ``config``. ``restart_policy`` and ``profile`` are pure.
"""
