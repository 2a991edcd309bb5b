"""The console's WebSocket session: history on connect, then every new line, commands in,
status out, each client at its own pace through its own cursor (``session``).

Uses ``console``, ``game``, ``edge`` (the client's address) and ``config``.
"""
