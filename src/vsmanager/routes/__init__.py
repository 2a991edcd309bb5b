"""HTTP and WebSocket routes, one module per resource, and the errors they answer with
(``errors``). The top of the server: routes use every concern below them; nothing imports them
but the app."""
