"""Heavy output (5,000 lines/s for 10 s) keeps the page responsive.

The figures (frame times, input latency, main-thread round trips, lag) are measured in the
page and written to tests/e2e/artifacts/load-<rate>.json; docs/web.md records a run. Assertions are
loose on purpose: the machine is shared, and a test that fails on a busy CI box proves nothing.
"""

from __future__ import annotations

import json
import statistics
import time

import pytest
from console_page import ARTIFACTS, hook, open_page, sign_in_admin
from playwright.sync_api import Browser

from harness import TIME_SCALE, run_vsmanager, simulator_command

pytestmark = pytest.mark.e2e

RATE = 5000
SECONDS = 10.0

# Frame gaps and input-to-next-frame delay, recorded by the page itself.
PROBE = """
window.__perf = { frames: [], inputs: [] };
(() => {
  let last = performance.now();
  const tick = (now) => { window.__perf.frames.push(now - last); last = now; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  document.addEventListener("keydown", (event) => {
    const start = event.timeStamp;
    requestAnimationFrame(() => window.__perf.inputs.push(performance.now() - start));
  }, true);
})();
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else 0.0


def summary(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50": round(percentile(values, 50), 1),
        "p95": round(percentile(values, 95), 1),
        "p99": round(percentile(values, 99), 1),
        "max": round(max(values, default=0.0), 1),
    }


# Ten seconds of load, then up to a minute of catch-up, on top of a browser and a vsmanager
# starting: about 65 s on a quiet machine, so the suite's 120 s would be too tight.
@pytest.mark.timeout(300)
@pytest.mark.parametrize("rate", [0, RATE], ids=["idle-baseline", "5000-lines-per-s"])
def test_heavy_output_keeps_the_page_responsive(browser: Browser, rate: int) -> None:
    command = simulator_command("--events-per-second", str(rate)) if rate else simulator_command()
    with run_vsmanager(command) as vsm, open_page(browser, vsm.url) as page:
        vsm.wait_for_state("running")
        page.add_init_script(PROBE)
        page.reload()
        sign_in_admin(page)
        page.wait_for_function("() => (window.__vsmTest.lastSeq() ?? 0) > 0")  # history is in

        page.evaluate("window.__perf.frames = []; window.__perf.inputs = []")
        start_seq = vsm.history(lines=0)["last_seq"]
        page_start = hook(page, "lastSeq")
        round_trips: list[float] = []
        started = time.monotonic()
        page.focus("#command-input")
        while time.monotonic() - started < SECONDS:
            # A user typing, and a script asking the main thread for an answer.
            page.keyboard.type("x")
            t0 = time.perf_counter()
            page.evaluate("1")
            round_trips.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        end_seq = vsm.history(lines=0)["last_seq"]
        page_end = hook(page, "lastSeq")
        perf = page.evaluate("window.__perf")
        typed = page.input_value("#command-input")

        # Then the load stops: how long until the page shows the newest line?
        with vsm.client() as client:
            client.post("/server/stop")
        vsm.wait_for_state("stopped", "crashed")
        final_seq = vsm.history(lines=0)["last_seq"]
        t0 = time.monotonic()
        page.wait_for_function(
            "(seq) => window.__vsmTest.lastSeq() >= seq && window.__vsmTest.idle()",
            arg=final_seq,
            timeout=60_000 * TIME_SCALE,
        )
        catch_up_s = time.monotonic() - t0
        gaps = sum(1 for row in hook(page, "bufferText") if "lines skipped" in row)
        duplicates = hook(page, "duplicatesDropped")

    assert isinstance(start_seq, int) and isinstance(end_seq, int)
    frames = [float(f) for f in perf["frames"]]
    results = {
        "server_lines_per_s": round((end_seq - start_seq) / elapsed),
        "page_lines_per_s": round((page_end - page_start) / elapsed),
        "frames_per_s": round(len(frames) / elapsed, 1),
        "frame_ms": summary(frames),
        "frames_over_50ms": sum(1 for f in frames if f > 50),
        "input_to_next_frame_ms": summary([float(i) for i in perf["inputs"]]),
        "main_thread_round_trip_ms": summary(round_trips),
        "catch_up_after_load_s": round(catch_up_s, 2),
        "gap_markers": gaps,
        "duplicates_dropped": duplicates,
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"load-{rate}.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))

    assert duplicates == 0
    assert typed == "x" * len(round_trips), "keystrokes were lost under load"
    assert results["server_lines_per_s"] >= rate / 4, "the simulator did not produce the load"
    assert statistics.median(frames) < 250 * TIME_SCALE, "the page stopped drawing"
    # 0.65-1.1 s at the median before the page was paced to 60 frames a second and drew in
    # batches (issue #20); 10-40 ms since (bench/page_bench.py, docs/web.md). Loose: the
    # machine is shared.
    assert results["main_thread_round_trip_ms"]["p50"] < 1000 * TIME_SCALE
