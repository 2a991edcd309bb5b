"""Schedules: restarts, stops, starts, console commands (and actions other packages add,
such as backups) on a cron expression or an interval, with warnings to the players, a
players' rule, a countdown a person can skip or hurry, and every run kept.

Pure cores: ``durations``, ``timing``, ``schedule``, ``policy``. The file and the state file:
``store``, ``history``, ``files``. At work: ``scheduler`` (loops and runs), ``countdown``,
``actions`` (the registry), ``editing`` (changes from the API and CLI).

Uses ``game``, ``console``, ``access`` and ``config``; ``notify`` for its events.
"""
