"""Operations: resource samples of vsmanager and the game (``metrics``), the Prometheus
exposition (``prometheus``), and vsmanager's own log (``logs``).

Uses ``game``, ``console`` and ``config``.
"""
