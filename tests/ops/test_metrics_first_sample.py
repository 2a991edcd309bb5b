"""The first resource samples: one as soon as vsmanager starts, one as soon as the game
starts (and ends), not one interval later."""

from __future__ import annotations

import time

from harness import TIME_SCALE, run_vsmanager


def samples(vsm: object) -> list[dict[str, object]]:
    with vsm.client() as client:  # type: ignore[attr-defined]
        return list(client.get("/server/metrics").json()["samples"])


def wait_for(predicate: object, timeout: float) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout * TIME_SCALE
    while True:
        found = predicate()  # type: ignore[operator]
        if found or time.monotonic() > deadline:
            return list(found)
        time.sleep(0.1)


def test_samples_come_at_start_and_when_the_game_starts_and_ends() -> None:
    # An interval far longer than the test: every sample seen was taken for a start or an end.
    with run_vsmanager(metrics_interval=600, server_restart="never") as vsm:
        vsm.wait_for_state("running")
        with_game = wait_for(lambda: [s for s in samples(vsm) if s["game_rss_bytes"]], 5)
        assert with_game, samples(vsm)
        assert samples(vsm)[0]["game_rss_bytes"] is None  # vsmanager's own start, before the game
        with vsm.client() as client:
            client.post("/server/stop")
        vsm.wait_for_state("stopped")
        ended = wait_for(lambda: [s for s in samples(vsm)[-1:] if s["game_rss_bytes"] is None], 5)
        assert ended, samples(vsm)
        assert len(samples(vsm)) == 3
