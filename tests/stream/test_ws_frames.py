"""Whatever a client sends on the console socket, it gets an error frame and the session
stays: a frame fuzzer and the deep-nesting case, against a real vsmanager."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator

import pytest
import websockets.sync.client as ws_client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection

from harness import VsManager, run_vsmanager

EXAMPLES = int(os.environ.get("VS_FUZZ_EXAMPLES", "15")) * 20
_probes = itertools.count()


@pytest.fixture(scope="module")
def vsm() -> Iterator[VsManager]:
    with run_vsmanager(autostart=False) as manager:
        yield manager


@pytest.fixture(scope="module")
def socket(vsm: VsManager) -> Iterator[ClientConnection]:
    with ws_client.connect(vsm.ws_url(format="json"), open_timeout=5, max_size=None) as ws:
        yield ws


def errors_until_probe(ws: ClientConnection) -> list[dict[str, object]]:
    """Send a probe the server must answer, and collect the error frames before its answer."""
    probe = f"probe-{next(_probes)}"
    ws.send(json.dumps({"type": probe}))
    errors = []
    while True:
        frame = json.loads(ws.recv(timeout=10))
        if frame.get("type") != "error":
            continue
        if probe in str(frame.get("message")):
            return errors
        errors.append(frame)


@pytest.mark.parametrize("depth", [1_000, 60_000], ids=["deep", "64k"])
def test_deeply_nested_json_gets_an_error_and_the_session_stays(socket: ClientConnection,
                                                                 depth: int) -> None:
    # Before: RecursionError in json.loads ended the admin's session with a traceback.
    for opener in ("[", '{"a":'):
        frame = (opener * depth)[: 60_000]
        socket.send(frame)
        errors = errors_until_probe(socket)
        assert [e["code"] for e in errors] == ["invalid_json"]


def test_a_binary_frame_gets_an_error(socket: ClientConnection) -> None:
    socket.send(b"\x00\x01")
    assert [e["code"] for e in errors_until_probe(socket)] == ["binary_not_supported"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
        st.sampled_from(["type", "command", "x"]) | st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
frames = st.one_of(
    st.text(max_size=400),
    json_values.map(json.dumps),
    st.builds(lambda d, o: o * d, st.integers(1, 5_000), st.sampled_from(["[", "{", '{"a":', "[{"])),
    st.builds(lambda t, c: json.dumps({"type": t, "command": c}),
              st.sampled_from(["command", "Command", "", None]),
              st.one_of(st.none(), st.integers(), st.text(max_size=30), st.lists(st.text(), max_size=2))),
)


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(frame=frames)
def test_any_frame_gets_at_most_one_error_and_the_session_stays(socket: ClientConnection,
                                                                 frame: str) -> None:
    socket.send(frame)
    errors = errors_until_probe(socket)
    assert len(errors) <= 1, errors
    for error in errors:
        assert isinstance(error["code"], str) and isinstance(error["message"], str)
