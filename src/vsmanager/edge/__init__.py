"""The HTTP server's edge: uvicorn's protocols with vsmanager's bounds (``httpprotocol``,
``ws_protocol``) and the guards every request passes before any route (``guards``: headers,
bodies, origins, per-address caps, the client's real address, the local API docs).

Uses only ``config``; knows nothing of keys, the game or the console.
"""
