"""The console's WebSocket session: history on connect, then every new line, commands in,
status out, each client at its own pace through its own cursor (``session``), starting where
its handshake left it (``start``); caught-up and paced clients written together
(``broadcast``), the same bytes built once (``frames``); the socket's query, checked
(``options``, pure); the server's own send kept for frames (``server_send``).

Uses ``console``, ``game``, ``edge`` (the client's address) and ``config``.
"""
