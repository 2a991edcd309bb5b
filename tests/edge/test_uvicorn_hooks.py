"""The private parts of uvicorn that vsmanager builds on, named one by one.

edge/httpprotocol.py and edge/ws_protocol.py subclass uvicorn's protocol classes, and
serving.py its Server: they override, call and read methods and attributes that uvicorn does
not promise to keep. pyproject.toml pins uvicorn to the minor version these were written and
tested for; this file fails, naming the hook, when a release changes one of them, so that a
raised pin is checked here before it reaches production. Every checker is shown to catch a
deliberately wrong expectation (the ``test_checker_*`` tests), so none of them passes vacuously.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import re
import signal
import socket
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import httptools
import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import HANDLED_SIGNALS, ServerState
from websockets.server import ServerProtocol

from vsmanager.edge.httpprotocol import GuardedHttpProtocol
from vsmanager.edge.readahead import GatedFlow
from vsmanager.edge.ws_protocol import BoundedCloseTransport, ConsoleWebSocketProtocol
from vsmanager.edge.ws_waits import Flag, Inbox
from vsmanager.serving import ConsoleServer

Params = list[tuple[str, str]]  # (name, kind) of each parameter, self included


# -- the checkers --------------------------------------------------------------------------


def params(function: Callable[..., Any]) -> Params:
    return [(p.name, p.kind.name) for p in inspect.signature(function).parameters.values()]


def _is_pass_through(function: Callable[..., Any]) -> bool:
    """``(self, *args, **kwargs)``: an override that hands everything to the base."""
    kinds = [kind for _, kind in params(function)[1:]]
    return kinds == ["VAR_POSITIONAL", "VAR_KEYWORD"]


def override_problems(base: type, sub: type, names: Iterable[str]) -> list[str]:
    """Each method ``sub`` overrides must exist in ``base`` with the same parameters."""
    problems = []
    for name in names:
        ours = sub.__dict__.get(name)
        if ours is None:
            problems.append(f"{sub.__name__}.{name}: no longer overridden here; update this test")
            continue
        theirs = getattr(base, name, None)
        if not callable(theirs):
            problems.append(f"{base.__name__}.{name}: gone from uvicorn, so "
                            f"{sub.__name__}.{name} is never called")
        elif not _is_pass_through(ours) and params(ours) != params(theirs):
            problems.append(f"{base.__name__}.{name}: parameters are now {params(theirs)}, "
                            f"{sub.__name__}.{name} takes {params(ours)}")
    return problems


def signature_problems(owner: type, expected: dict[str, Params]) -> list[str]:
    """Methods vsmanager calls (or whose callers it relies on) keep these parameters."""
    problems = []
    for name, wanted in expected.items():
        method = getattr(owner, name, None)
        if not callable(method):
            problems.append(f"{owner.__name__}.{name}: gone (vsmanager calls it)")
        elif params(method) != wanted:
            problems.append(f"{owner.__name__}.{name}: parameters are now {params(method)}, "
                            f"vsmanager expects {wanted}")
    return problems


def attribute_problems(instance: object, expected: dict[str, type | tuple[type, ...]]) -> list[str]:
    """Attributes vsmanager reads or sets on a constructed instance, with their types."""
    problems = []
    name_of = type(instance).__name__
    for name, kind in expected.items():
        if not hasattr(instance, name):
            problems.append(f"{name_of}.{name}: no such attribute any more (vsmanager uses it)")
        elif not isinstance(getattr(instance, name), kind):
            problems.append(f"{name_of}.{name}: is now {type(getattr(instance, name)).__name__}, "
                            f"vsmanager expects {kind}")
    return problems


def source_problems(function: Callable[..., Any], patterns: dict[str, str]) -> list[str]:
    """Behaviour of a base method vsmanager relies on, found in its source: pattern -> why."""
    source = inspect.getsource(function)
    return [f"{function.__qualname__}: no longer matches {pattern!r} ({why})"
            for pattern, why in patterns.items() if not re.search(pattern, source)]


def fingerprint(function: Callable[..., Any]) -> str:
    """A digest of a method's code, blank lines and indentation aside."""
    lines = (line.strip() for line in inspect.getsource(function).splitlines())
    return hashlib.sha256("\n".join(line for line in lines if line).encode()).hexdigest()[:16]


def fingerprint_problems(function: Callable[..., Any], expected: str, why: str) -> list[str]:
    found = fingerprint(function)
    if found == expected:
        return []
    return [f"{function.__qualname__} changed (fingerprint {found}, recorded {expected}): {why}"]


def transport_problems(base: type, wrapper: type) -> list[str]:
    """Every ``self.transport.<method>`` the base calls must be the wrapper's own, not
    asyncio.Transport's abstract one (which raises NotImplementedError)."""
    called = set(re.findall(r"self\.transport\.(\w+)\(", inspect.getsource(base)))
    return [f"{base.__name__} now calls transport.{name}(), which {wrapper.__name__} "
            "does not implement" for name in sorted(called) if name not in wrapper.__dict__]


def assert_none(problems: list[str]) -> None:
    assert not problems, "uvicorn's private hooks changed:\n  " + "\n  ".join(problems)


# -- constructed instances ------------------------------------------------------------------


async def _app(scope: Any, receive: Any, send: Any) -> None:  # never called
    raise AssertionError


def _config() -> uvicorn.Config:
    config = uvicorn.Config(_app, lifespan="off", log_config=None)
    config.load()
    return config


Connect = Callable[[asyncio.Protocol], Awaitable[asyncio.Protocol]]


@pytest.fixture
async def connected() -> AsyncIterator[Connect]:
    """Give a protocol the server's end of a real loopback TCP connection (its
    connection_made runs, as under uvicorn)."""
    loop = asyncio.get_running_loop()
    opened: list[tuple[asyncio.BaseTransport, socket.socket]] = []

    async def connect(protocol: asyncio.Protocol) -> asyncio.Protocol:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            theirs = socket.create_connection(listener.getsockname(), timeout=5)
            ours, _ = listener.accept()
        transport, _ = await loop.connect_accepted_socket(lambda: protocol, ours)
        opened.append((transport, theirs))
        return protocol

    yield connect
    for transport, theirs in opened:
        transport.abort()  # type: ignore[attr-defined]
        theirs.close()
    await asyncio.sleep(0)


# -- the HTTP protocol (edge/httpprotocol.py) -----------------------------------------------

# GuardedHttpProtocol.data_received is a copy of uvicorn's, feeding the parser in bounded
# pieces: a change to uvicorn's must be carried over by hand.
HTTP_DATA_RECEIVED = "77d64a8ed713b585"


def test_http_overrides_match_uvicorn() -> None:
    assert_none(override_problems(HttpToolsProtocol, GuardedHttpProtocol, [
        "__init__", "connection_made", "connection_lost", "handle_websocket_upgrade",
        "data_received", "on_message_begin", "on_headers_complete", "on_message_complete",
        "on_response_complete", "pause_writing", "resume_writing", "timeout_keep_alive_handler",
        "shutdown", "send_400_response",
    ]))


def test_http_private_methods_called_are_there() -> None:
    assert_none(signature_problems(HttpToolsProtocol, {
        "__init__": [("self", "POSITIONAL_OR_KEYWORD"), ("config", "POSITIONAL_OR_KEYWORD"),
                     ("server_state", "POSITIONAL_OR_KEYWORD"),
                     ("app_state", "POSITIONAL_OR_KEYWORD"), ("_loop", "POSITIONAL_OR_KEYWORD")],
        "_unset_keepalive_if_required": [("self", "POSITIONAL_OR_KEYWORD")],
        "_should_upgrade": [("self", "POSITIONAL_OR_KEYWORD")],
        "_unsupported_upgrade_warning": [("self", "POSITIONAL_OR_KEYWORD")],
        "send_400_response": [("self", "POSITIONAL_OR_KEYWORD"), ("msg", "POSITIONAL_OR_KEYWORD")],
    }))


def test_http_data_received_is_the_one_copied() -> None:
    assert_none(fingerprint_problems(
        HttpToolsProtocol.data_received, HTTP_DATA_RECEIVED,
        "GuardedHttpProtocol.data_received re-implements it; carry the change over, then "
        "record the new fingerprint",
    ))


def test_http_behaviour_relied_on_is_in_the_source() -> None:
    assert_none(
        source_problems(HttpToolsProtocol.handle_websocket_upgrade, {
            r"self\.transport\.set_protocol\(": "the upgraded socket's protocol is read back "
                                                "from the transport to release the peer count",
        })
        + source_problems(HttpToolsProtocol.on_headers_complete, {
            r"self\.cycle = RequestResponseCycle\(": "each request's cycle gets a lingering transport",
            r"self\.pipeline\.appendleft\(": "pipelined requests queue in self.pipeline, whose "
                                              "length the read-ahead bounds",
            r"flow=self\.flow": "each cycle gets the protocol's (gated) flow control",
        })
        + source_problems(HttpToolsProtocol.connection_made, {
            r"self\.flow = FlowControl\(": "the flow control is replaced by the read-ahead's gated one",
        })
        + source_problems(HttpToolsProtocol.on_response_complete, {
            r"self\.flow\.resume_reading\(\)": "a response resumes reading (ignored while held back)",
            r"self\.pipeline\.pop\(\)": "a response starts the next queued request",
        })
        + source_problems(RequestResponseCycle, {
            r"self\.more_body = ": "a close while the body arrives becomes a lingering close",
            r"self\.transport\.close\(\)": "the cycle closes through the transport it was given",
            r"self\.flow\.resume_reading\(\)": "the app reading a body resumes reading (ignored "
                                                 "while held back)",
        })
    )


def test_http_module_parts_used() -> None:
    problems = []
    if not all(isinstance(STATUS_LINE.get(status), bytes) for status in (400, 408, 431, 503)):
        problems.append("httptools_impl.STATUS_LINE: no longer maps status codes to bytes")
    for name in ("HttpParserUpgrade", "HttpParserError", "HttpRequestParser"):
        if not hasattr(httptools, name):
            problems.append(f"httptools.{name}: gone")
    assert_none(problems)


async def test_http_instance_has_what_is_read(
    connected: Connect,
) -> None:
    config = _config()
    protocol = GuardedHttpProtocol(config=config, server_state=ServerState(), app_state={},
                                   _loop=asyncio.get_running_loop())
    assert_none(attribute_problems(protocol, {
        "cycle": type(None), "loop": asyncio.AbstractEventLoop, "server_state": ServerState,
    }))
    await connected(protocol)
    assert_none(attribute_problems(protocol, {
        "client": tuple, "transport": asyncio.BaseTransport, "logger": object, "pipeline": deque,
        "flow": GatedFlow,
    }) + attribute_problems(protocol.flow, {"write_paused": bool, "read_paused": bool})
        + attribute_problems(protocol.parser, {"feed_data": Callable}) + attribute_problems(
        protocol.server_state, {"default_headers": list}))


# -- the WebSocket protocol (edge/ws_protocol.py) ---------------------------------------------


def test_ws_overrides_match_uvicorn() -> None:
    assert_none(override_problems(WebSocketsSansIOProtocol, ConsoleWebSocketProtocol, [
        "__init__", "connection_made", "connection_lost", "send",
    ]))


def test_ws_base_calls_only_what_the_bounded_transport_implements() -> None:
    assert_none(transport_problems(WebSocketsSansIOProtocol, BoundedCloseTransport))


def test_ws_base_uses_only_what_the_lean_inbox_and_flag_implement() -> None:
    source = inspect.getsource(WebSocketsSansIOProtocol)
    problems = [f"WebSocketsSansIOProtocol now calls {attribute}.{name}(), which "
                f"{lean.__name__} does not implement"
                for attribute, lean in (("queue", Inbox), ("writable", Flag))
                for name in sorted(set(re.findall(rf"self\.{attribute}\.(\w+)\(", source)))
                if name not in lean.__dict__]
    assert_none(problems)


def test_ws_handshake_request_and_response_are_read_only_until_the_accept() -> None:
    # ConsoleWebSocketProtocol.send drops them once the accept went out.
    readers = {name for name, member in vars(WebSocketsSansIOProtocol).items()
               if callable(member) and re.search(r"self\.(request|response)\b",
                                                 inspect.getsource(member))}
    problems = [] if readers == {"handle_connect", "send"} else [
        f"WebSocketsSansIOProtocol reads self.request or self.response in {sorted(readers)}, "
        "not only in handle_connect and send"]
    send = inspect.getsource(WebSocketsSansIOProtocol.send)
    after_accept = send[send.index("self.handshake_complete = True"):]
    if re.search(r"self\.(request|response)\b", after_accept.split("self.start_keepalive()", 1)[1]):
        problems.append("WebSocketsSansIOProtocol.send reads self.response after the accept")
    assert_none(problems)


def test_ws_behaviour_relied_on_is_in_the_source() -> None:
    assert_none(
        source_problems(WebSocketsSansIOProtocol.send, {
            r"await self\.writable\.wait\(\)": "a close frame is let through by setting writable",
        })
        + source_problems(WebSocketsSansIOProtocol.handle_connect, {
            r"self\.conn\.accept\(": "refused handshakes come from conn.reject (JSON here)",
        })
        + signature_problems(ServerProtocol, {
            "reject": [("self", "POSITIONAL_OR_KEYWORD"), ("status", "POSITIONAL_OR_KEYWORD"),
                       ("text", "POSITIONAL_OR_KEYWORD")],
        })
        + source_problems(WebSocketsSansIOProtocol, {
            r"call_later\(self\.close_timeout\b": "CLOSE_HANDSHAKE_S replaces close_timeout",
        })
    )


async def test_ws_instance_has_what_is_read_and_set(
    connected: Connect,
) -> None:
    base = WebSocketsSansIOProtocol(config=_config(), server_state=ServerState(), app_state={},
                                    _loop=asyncio.get_running_loop())
    assert_none(attribute_problems(base, {
        "close_timeout": float, "writable": asyncio.Event, "handshake_complete": bool,
        "loop": asyncio.AbstractEventLoop,
    }))
    ours = ConsoleWebSocketProtocol(config=_config(), server_state=ServerState(), app_state={},
                                    _loop=asyncio.get_running_loop())
    await connected(ours)
    assert isinstance(ours.transport, BoundedCloseTransport), "connection_made's transport"


# -- the server (serving.py) ----------------------------------------------------------------


def test_server_overrides_match_uvicorn() -> None:
    assert_none(override_problems(uvicorn.Server, ConsoleServer, ["shutdown", "capture_signals"]))


def test_server_parts_used_are_there() -> None:
    problems = signature_problems(uvicorn.Server, {
        "handle_exit": [("self", "POSITIONAL_OR_KEYWORD"), ("sig", "POSITIONAL_OR_KEYWORD"),
                        ("frame", "POSITIONAL_OR_KEYWORD")],
    })
    if not (isinstance(HANDLED_SIGNALS, tuple) and signal.SIGTERM in HANDLED_SIGNALS):
        problems.append("uvicorn.server.HANDLED_SIGNALS: no longer a tuple holding SIGTERM")
    problems += attribute_problems(uvicorn.Server(_config()), {"force_exit": bool, "started": bool})
    assert_none(problems)


# -- the checkers catch a real mismatch -----------------------------------------------------


class _Base:
    def hook(self, data: bytes) -> None:
        pass


class _Drifted(_Base):
    def hook(self, data: bytes, more: bool) -> None:  # type: ignore[override]
        pass


def test_checker_catches_a_changed_override_signature() -> None:
    (problem,) = override_problems(_Base, _Drifted, ["hook"])
    assert "_Base.hook" in problem and "more" in problem
    (gone,) = override_problems(object, _Drifted, ["hook"])
    assert "object.hook: gone" in gone


def test_checker_catches_a_changed_called_signature() -> None:
    (problem,) = signature_problems(HttpToolsProtocol, {
        "send_400_response": [("self", "POSITIONAL_OR_KEYWORD")],
        "_unset_keepalive_if_required": [("self", "POSITIONAL_OR_KEYWORD")],
    })
    assert problem.startswith("HttpToolsProtocol.send_400_response: parameters are now")
    (gone,) = signature_problems(HttpToolsProtocol, {"_no_such_hook": []})
    assert "HttpToolsProtocol._no_such_hook: gone" in gone


async def test_checker_catches_a_missing_or_retyped_attribute() -> None:
    base = WebSocketsSansIOProtocol(config=_config(), server_state=ServerState(), app_state={},
                                    _loop=asyncio.get_running_loop())
    problems = attribute_problems(base, {"no_such_flag": bool, "close_timeout": str})
    assert problems == [
        "WebSocketsSansIOProtocol.no_such_flag: no such attribute any more (vsmanager uses it)",
        "WebSocketsSansIOProtocol.close_timeout: is now float, vsmanager expects <class 'str'>",
    ]


def test_checker_catches_changed_source_and_fingerprint() -> None:
    (problem,) = source_problems(WebSocketsSansIOProtocol.send, {r"await self\.never_there": "x"})
    assert problem.startswith("WebSocketsSansIOProtocol.send: no longer matches")
    (changed,) = fingerprint_problems(HttpToolsProtocol.data_received, "0" * 16, "why")
    assert "HttpToolsProtocol.data_received changed" in changed


def test_checker_catches_a_transport_method_the_wrapper_lacks() -> None:
    class _Thin(asyncio.Transport):
        def write(self, data: Any) -> None:
            pass

    problems = transport_problems(WebSocketsSansIOProtocol, _Thin)
    assert "WebSocketsSansIOProtocol now calls transport.close(), which _Thin does not implement" in problems
