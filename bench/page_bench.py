"""The web page under heavy output: a real vsmanager, its game printing N lines/s, the page in
headless chromium, measured where a user sees it.

For each rate (5,000 lines/s, 1,000 lines/s and idle, in the same run, so the loaded figures
have a baseline beside them) it signs in, lets the page warm up, then for a window:

- pings the page's main thread every 100 ms from here (``page.evaluate``: the round trip a
  script or a devtools user sees, CDP hop included) and, inside that, the page's own task
  queue (a MessageChannel message: how long a task waits behind the page's work);
- records the gap between animation frames (fps, p95 frame time, frames over 50 ms);
- types a key into the command bar every 200 ms: keydown to the first animation frame after
  the character is in the input;
- then checks that every line was shown: the page catches up with the game's last seq, the
  seqs it kept run on without a hole or a repeat, no gap marker, no duplicate dropped.

    python bench/page_bench.py                 # 5,000 and 1,000 lines/s and idle, one run each
    python bench/page_bench.py --runs 3        # medians of 3
    python bench/page_bench.py --rate 5000 --profile /tmp/page.cpuprofile
    python bench/page_bench.py --vsmanager-path /tmp/before/src   # before and after, interleaved
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
from playwright.sync_api import Browser, Page, sync_playwright
from servers import ADMIN_KEY, Target, run_target

CHROMIUM = os.environ.get("VS_CHROMIUM", "/usr/bin/chromium")
# As the browser tests launch it (tests/e2e/conftest.py): no GPU, never throttled as a
# background page on a machine busy with other work.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
VIEWPORT = {"width": 1280, "height": 800}
PING_INTERVAL_S = 0.1
KEY_EVERY_PINGS = 2  # a key every 200 ms
CATCH_UP_TIMEOUT_S = 60.0
WAIT_MS = 30_000
TRACE_CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8.execute"]

# Recorded by the page itself: animation frame gaps, and keydown to the first frame after
# the character is in the command bar.
PROBE = """
window.__bench = { frames: [], keys: [], pendingKey: null };
(() => {
  let last = performance.now();
  const tick = (now) => { window.__bench.frames.push(now - last); last = now; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  document.addEventListener("keydown", (e) => {
    if (e.key === "x") window.__bench.pendingKey = e.timeStamp;
  }, true);
  document.addEventListener("input", () => {
    const start = window.__bench.pendingKey;
    if (start === null) return;
    window.__bench.pendingKey = null;
    requestAnimationFrame(() => window.__bench.keys.push(performance.now() - start));
  }, true);
})();
"""

# A message to the page's own task queue, answered when the main thread gets to it.
PING = """() => new Promise((resolve) => {
  const t0 = performance.now();
  const channel = new MessageChannel();
  channel.port1.onmessage = () => resolve(performance.now() - t0);
  channel.port2.postMessage(0);
})"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def last_seq(target: Target) -> int:
    response = httpx.get(f"http://127.0.0.1:{target.port}/api/v1alpha1/console/history",
                         params={"lines": 0}, headers={"X-API-Key": ADMIN_KEY}, timeout=10)
    response.raise_for_status()
    return int(response.json()["last_seq"])


def hook(page: Page, name: str) -> Any:
    """The page's test hook; null when this page has none of that name (an older page)."""
    return page.evaluate(f"() => window.__vsmTest.{name} ? window.__vsmTest.{name}() : null")


def sign_in(page: Page, target: Target) -> None:
    page.add_init_script(PROBE)
    page.goto(f"http://127.0.0.1:{target.port}/")
    page.fill("#signin-key", ADMIN_KEY)
    page.click("#signin-submit")
    page.wait_for_function(
        "() => window.__vsmTest && window.__vsmTest.connectionState() === 'connected'"
        " && (window.__vsmTest.lastSeq() ?? 0) > 0")


@contextlib.contextmanager
def cpu_profile(page: Page, path: Path | None) -> Iterator[None]:
    """The page's main thread sampled by V8 for the window (open the file in DevTools)."""
    if path is None:
        yield
        return
    session = page.context.new_cdp_session(page)
    session.send("Profiler.enable")
    session.send("Profiler.setSamplingInterval", {"interval": 200})
    session.send("Profiler.start")
    try:
        yield
    finally:
        profile = session.send("Profiler.stop")["profile"]
        path.write_text(json.dumps(profile))
        print(f"profile written to {path}", file=sys.stderr)


@contextlib.contextmanager
def trace(browser: Browser, page: Page, path: Path | None) -> Iterator[None]:
    """A DevTools performance trace of the window (open it in DevTools' Performance panel);
    a summary of where the page's main thread went is printed."""
    if path is None:
        yield
        return
    browser.start_tracing(page=page, path=str(path), categories=TRACE_CATEGORIES)
    try:
        yield
    finally:
        browser.stop_tracing()
        print(trace_summary(path), file=sys.stderr)


def trace_summary(path: Path, top: int = 15) -> str:
    """Milliseconds per top-level task kind on the renderer's main thread."""
    events = json.loads(path.read_text())
    events = events["traceEvents"] if isinstance(events, dict) else events
    main = {(e["pid"], e["tid"]) for e in events
            if e.get("name") == "thread_name" and e.get("args", {}).get("name") == "CrRendererMain"}
    totals: dict[str, float] = {}
    for event in events:
        if (event.get("pid"), event.get("tid")) in main and event.get("ph") == "X":
            name = event["name"]
            totals[name] = totals.get(name, 0.0) + event.get("dur", 0) / 1000
    ranked = sorted(totals.items(), key=lambda item: -item[1])[:top]
    return "\n".join(f"{ms:9.1f} ms  {name}" for name, ms in ranked)


def measure(browser: Browser, workdir: Path, rate: int, warmup: float, window: float,
            profile: Path | None, trace_path: Path | None = None,
            pythonpath: str | None = None) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    with run_target("vsmanager", workdir, rate=rate, max_seconds=warmup + window + 300,
                    pythonpath=pythonpath) as target:
        context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
        try:
            page = context.new_page()
            page.set_default_timeout(WAIT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            sign_in(page, target)
            time.sleep(warmup)
            with trace(browser, page, trace_path):
                result = _window(page, target, window, profile)
            result.update(_every_line_shown(page, target))
            result["page_errors"] = len(errors)
        finally:
            context.close()
    result.update(rate=rate, load=round((load_before + os.getloadavg()[0]) / 2, 1))
    return result


def _chromium_cpu() -> dict[str, float]:
    """CPU seconds so far of the browser's renderers (the page's main thread and its helpers)
    and of the rest of chromium (the compositor and raster in the GPU process, without a GPU)."""
    totals = {"renderer": 0.0, "browser": 0.0}
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            cmdline = child.cmdline()
            if not cmdline or "chrom" not in cmdline[0]:
                continue
            times = child.cpu_times()
            kind = "renderer" if "--type=renderer" in cmdline else "browser"
            totals[kind] += times.user + times.system
    return totals


def _window(page: Page, target: Target, window: float, profile: Path | None) -> dict[str, Any]:
    page.focus("#command-input")
    page.evaluate("() => { window.__bench.frames = []; window.__bench.keys = []; }")
    server_start, page_start = last_seq(target), hook(page, "lastSeq")
    written_start, frames_start = hook(page, "linesWritten"), hook(page, "linesFrames")
    round_trips: list[float] = []
    queue_waits: list[float] = []
    typed = 0
    with cpu_profile(page, profile):
        cpu_start = _chromium_cpu()
        started = time.monotonic()
        next_at = started
        while (now := time.monotonic()) - started < window:
            if now < next_at:
                time.sleep(next_at - now)
            next_at += PING_INTERVAL_S
            if len(round_trips) % KEY_EVERY_PINGS == 0:
                page.keyboard.type("x")
                typed += 1
            t0 = time.perf_counter()
            queue_waits.append(float(page.evaluate(PING)))
            round_trips.append((time.perf_counter() - t0) * 1000)
        elapsed = time.monotonic() - started
        cpu_end = _chromium_cpu()
    server_end, page_end = last_seq(target), hook(page, "lastSeq")
    written_end, frames_end = hook(page, "linesWritten"), hook(page, "linesFrames")
    probe = page.evaluate("() => window.__bench")
    frames = [float(f) for f in probe["frames"]]
    keys = [float(k) for k in probe["keys"]]
    in_bar = len(page.input_value("#command-input"))
    return {
        "server_lines_per_s": round((server_end - server_start) / elapsed),
        "page_lines_per_s": round((page_end - page_start) / elapsed),
        "written_lines_per_s": round((written_end - written_start) / elapsed),
        "frames_in_per_s": (frames_end - frames_start) / elapsed
        if frames_start is not None else float("nan"),
        "lag_at_end": server_end - page_end,
        "renderer_cpu": 100 * (cpu_end["renderer"] - cpu_start["renderer"]) / elapsed,
        "browser_cpu": 100 * (cpu_end["browser"] - cpu_start["browser"]) / elapsed,
        "round_trip_p50": statistics.median(round_trips),
        "round_trip_p95": percentile(round_trips, 95),
        "round_trip_max": max(round_trips),
        "pings": len(round_trips),
        "queue_wait_p50": statistics.median(queue_waits),
        "queue_wait_p95": percentile(queue_waits, 95),
        # Over the time the frames themselves cover (the probe runs a little past the window).
        "frames_per_s": len(frames) / (sum(frames) / 1000) if frames else 0.0,
        "median_fps": 1000 / statistics.median(frames) if frames else 0.0,
        "frame_p50": statistics.median(frames) if frames else float("nan"),
        "frame_p95": percentile(frames, 95),
        "frames_over_50ms": sum(1 for f in frames if f > 50),
        "key_p50": statistics.median(keys) if keys else float("nan"),
        "key_p95": percentile(keys, 95),
        "keys_lost": typed - in_bar,
    }


def _every_line_shown(page: Page, target: Target) -> dict[str, Any]:
    """Catch up with the game's last seq, then check the seqs kept run on, one each."""
    final = last_seq(target)
    t0 = time.monotonic()
    page.wait_for_function(
        "(seq) => (window.__vsmTest.lastSeq() ?? 0) >= seq && window.__vsmTest.idle()",
        arg=final, timeout=CATCH_UP_TIMEOUT_S * 1000)
    catch_up = time.monotonic() - t0
    seqs = hook(page, "keptSeqs")
    holes = sum(1 for a, b in itertools.pairwise(seqs) if b != a + 1)
    gaps = sum(1 for row in hook(page, "bufferText") if "lines skipped" in row)
    duplicates = hook(page, "duplicatesDropped")
    return {
        "catch_up_s": catch_up,
        "every_line": holes == 0 and gaps == 0 and duplicates == 0,
        "holes": holes,
        "gap_markers": gaps,
        "duplicates": duplicates,
        "kept": len(seqs),
    }


COLUMNS = [
    ("variant", "page", "{}"),
    ("rate", "lines/s", "{:,.0f}"),
    ("load", "load", "{:.1f}"),
    ("server_lines_per_s", "sent/s", "{:,.0f}"),
    ("page_lines_per_s", "page/s", "{:,.0f}"),
    ("frames_in_per_s", "frames in/s", "{:.0f}"),
    ("renderer_cpu", "page CPU %", "{:.0f}"),
    ("browser_cpu", "rest of chromium %", "{:.0f}"),
    ("round_trip_p50", "round trip p50", "{:.1f}"),
    ("round_trip_p95", "p95", "{:.1f}"),
    ("queue_wait_p50", "queue p50", "{:.1f}"),
    ("queue_wait_p95", "p95", "{:.1f}"),
    ("median_fps", "median fps", "{:.1f}"),
    ("frames_per_s", "frames/s", "{:.1f}"),
    ("frame_p50", "frame p50", "{:.1f}"),
    ("frame_p95", "p95", "{:.1f}"),
    ("frames_over_50ms", ">50 ms", "{:.0f}"),
    ("key_p50", "key→paint p50", "{:.1f}"),
    ("key_p95", "p95", "{:.1f}"),
    ("keys_lost", "keys lost", "{:.0f}"),
    ("catch_up_s", "catch-up s", "{:.2f}"),
    ("every_line", "every line", "{}"),
]


def median_row(runs: list[dict[str, Any]]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, _, _ in COLUMNS:
        values = [run[key] for run in runs]
        if isinstance(values[0], str):
            row[key] = values[0]
        elif isinstance(values[0], bool):
            row[key] = "yes" if all(values) else f"no ({sum(not v for v in values)} of {len(values)})"
        else:
            row[key] = statistics.median(values)
    return row


def render(rows: list[dict[str, Any]], runs: int) -> str:
    lines = [
        f"Medians of {runs} run(s); times in ms; round trip: page.evaluate from the benchmark "
        "(CDP hop included); queue: a MessageChannel message inside the page.",
        "",
        "| " + " | ".join(title for _, title, _ in COLUMNS) + " |",
        "|" + "|".join("--:" for _ in COLUMNS) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(fmt.format(row[key]) for key, _, fmt in COLUMNS) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the web page under heavy console output")
    parser.add_argument("--rate", type=int, action="append",
                        help="lines per second (repeatable; default 5000, 1000 and 0)")
    parser.add_argument("--runs", type=int, default=1, help="runs per rate; the table shows medians")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds after signing in")
    parser.add_argument("--window", type=float, default=10.0, help="seconds measured")
    parser.add_argument("--profile", type=Path,
                        help="write a V8 CPU profile of the page's first loaded window here")
    parser.add_argument("--trace", type=Path,
                        help="write a DevTools performance trace of the same window here")
    parser.add_argument("--vsmanager-path", action="append", default=[], metavar="DIR",
                        help="also measure vsmanager (and its built page) from this source tree, "
                        "interleaved with this checkout: before and after a change in one run")
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    args = parser.parse_args(argv)
    rates = args.rate or [5000, 1000, 0]
    variants: list[str | None] = [*args.vsmanager_path, None]
    results: dict[tuple[str | None, int], list[dict[str, Any]]] = {
        (variant, rate): [] for rate in rates for variant in variants}
    with tempfile.TemporaryDirectory(prefix="vsm-page-") as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # Interleaved: each round measures every rate, so a neighbour's burst of work
            # spreads over the rates rather than landing on one.
            for run in range(args.runs):
                for rate in rates:
                    for variant in variants:
                        first = run == 0 and rate == max(rates) and variant is None
                        figures = measure(browser, Path(tmp), rate, args.warmup, args.window,
                                          args.profile if first else None,
                                          args.trace if first else None, variant)
                        figures["variant"] = variant or "this checkout"
                        print(json.dumps(figures), file=sys.stderr)
                        results[variant, rate].append(figures)
        finally:
            browser.close()
    print(render([median_row(runs) for runs in results.values()], args.runs))
    if args.json:
        args.json.write_text(json.dumps(list(results.values()), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
