"""Backups you can restore (issue #19): archives of the world made consistently, verified,
kept by a retention policy, restored in one confirmed step.

Owns: naming and retention (pure), archive member checks (pure), the space check (pure),
making, verifying and restoring archives (the heavy part in a low-priority child process,
child.py), the game's own copy, the job book kept across restarts and what a restart puts
right, and the one-at-a-time service the routes call.
May use game/ (the supervisor, the data folder), console/ (lines, the feed), access/ (audit)
and config/; routes/ and remote/ use it, never the other way.
"""
