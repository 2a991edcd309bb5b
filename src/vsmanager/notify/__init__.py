"""Notifications: Discord, Slack-compatible and signed generic webhooks told of what happens
(the game started, ready, stopped, crashed, restarting, gave up; vsmanager started and
stopping; schedule warnings and outcomes; backups; players; keys; console lines matching a
rule), through a bounded queue per target that never delays the console, with retries.

Pure cores: ``events``, ``target``, ``payloads``, ``retry``, ``matching``. At work:
``delivery`` (a target's queue and sender), ``notifier`` (routing, the file), ``sources``
(what the supervisor, the console and the keys say).

Uses ``game``, ``console``, ``access`` and ``config``; ``automation`` and routes use it.
"""
