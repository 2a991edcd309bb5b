"""Who may do what: keys and their roles (``keys``, ``roles``, ``auth``), single-use tickets
(``tickets``), throttling of wrong keys (``throttle``), the audit file (``audit``), the one
door every request and socket passes (``gatekeeper``), and the keys file's watcher
(``keywatch``).

Uses ``console`` (what a command may be) and ``config``.
"""
