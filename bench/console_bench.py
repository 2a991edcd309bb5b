"""The console streaming benchmark: vsmanager beside the naive baseline, in the same run.

Each run starts a fresh server (vsmanager, or bench/naive_server.py) with bench/linegen.py
as its game, then a separate load process (bench/load.py) with real WebSocket clients.
Every figure is the median over the runs; see docs/benchmarks.md for what each one means.

    python bench/console_bench.py            # the full run (about 12 minutes)
    python bench/console_bench.py --quick    # one short run of everything (about 1.5 minutes)
    python bench/console_bench.py --scenario stall --runs 5
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from servers import ADMIN_KEY, BENCH, Kind, Target, run_target

RESULTS = BENCH / "results"
KINDS: tuple[Kind, ...] = ("vsmanager", "baseline")
SCENARIOS = ("rate", "stall", "memory", "compression")
MEMORY_TARGET_KIB = 40  # per idle connection (issue #20)


@dataclass(frozen=True)
class Case:
    """One configuration, run against both servers; equal cases are measured once."""

    fmt: str
    clients: int
    rate: float = 1000.0
    staller: bool = False
    compression: bool = False
    mode: str = "stream"


@dataclass(frozen=True)
class Timing:
    warmup: float
    window: float
    drain: float
    stall_window: float
    await_close: float
    idle_clients: int


FULL = Timing(warmup=1.0, window=5.0, drain=2.0, stall_window=16.0, await_close=25.0,
              idle_clients=1000)
QUICK = Timing(warmup=0.5, window=2.0, drain=1.0, stall_window=4.0, await_close=0.0,
               idle_clients=200)

RATE_CASES = [Case(fmt, n) for n in (1, 10) for fmt in ("text", "json")] + [
    Case("json", 100), Case("text", 100)]
STALL_REFERENCE = Case("json", 10, rate=2000.0)
# 9 readers and the staller: as many connections as the reference, so the frame budget
# (shared among connections) paces the readers the same way in both runs.
STALL_CASE = replace(STALL_REFERENCE, clients=9, staller=True)
COMPRESSION_CASES = [Case(fmt, 10, compression=on) for on in (False, True)
                     for fmt in ("json", "text")]


def cases_for(scenario: str, timing: Timing) -> list[Case]:
    if scenario == "rate":
        return RATE_CASES
    if scenario == "stall":
        return [STALL_REFERENCE, STALL_CASE]
    if scenario == "memory":
        return [Case("json", timing.idle_clients, rate=0.0, mode="idle")]
    return COMPRESSION_CASES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="console streaming benchmark")
    parser.add_argument("--quick", action="store_true", help="one short run of each case")
    parser.add_argument("--runs", type=int, help="runs per case and server (default 3; 1 quick)")
    parser.add_argument("--scenario", action="append", choices=SCENARIOS,
                        help="only these scenarios (repeatable; default all)")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.md")
    parser.add_argument("--vsmanager-path", metavar="DIR",
                        help="run vsmanager from this source tree (PYTHONPATH), to measure a "
                        "proposed change against the same baseline")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a vsmanager setting for every run, e.g. ws_frames_per_second=6667")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="print the tables of an earlier run from its .json, run nothing")
    args = parser.parse_args(argv)
    if args.render:
        print(rerender(args.render))
        return 0
    timing = QUICK if args.quick else FULL
    runs = args.runs or (1 if args.quick else 3)
    scenarios = args.scenario or list(SCENARIOS)
    _raise_fd_limit()

    settings = dict(item.split("=", 1) for item in args.set)
    bench = Bench(timing, runs, settings, args.vsmanager_path)
    began = time.monotonic()
    context = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _commit(),
        "loadavg_before": os.getloadavg(),
        "vsmanager": args.vsmanager_path or "this checkout",
        "settings": settings,
    }
    with tempfile.TemporaryDirectory(prefix="vsm-bench-") as workdir:
        for scenario in scenarios:
            for case in cases_for(scenario, timing):
                bench.measure(case, Path(workdir))
    context.update(loadavg_after=os.getloadavg(), minutes=round((time.monotonic() - began) / 60, 1))
    measured = sorted({r["src"] for runs in bench.results.values() for r in runs})
    if len(measured) > 1:
        context["commit"] = "several (src/ changed during the run): " + ", ".join(measured)
    report = render(bench, scenarios, timing, runs, context)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    raw = {"context": context, "timing": asdict(timing), "runs": runs,
           "results": [{"case": asdict(c), "kind": k, "runs": r}
                       for (c, k), r in bench.results.items()]}
    args.output.with_suffix(".json").write_text(json.dumps(raw, indent=1))
    print(f"\nwritten to {args.output}", file=sys.stderr)
    return 0


def rerender(path: Path) -> str:
    raw = json.loads(path.read_text())
    timing = Timing(**raw["timing"])
    bench = Bench(timing, raw["runs"], raw["context"].get("settings", {}), None)
    for entry in raw["results"]:
        bench.results[Case(**entry["case"]), entry["kind"]] = entry["runs"]
    scenarios = [name for name in SCENARIOS
                 if any((case, KINDS[0]) in bench.results for case in cases_for(name, timing))]
    context = {"commit": "?", "vsmanager": "this checkout", **raw["context"]}
    return render(bench, scenarios, timing, raw["runs"], context)


def _commit() -> str:
    """The checkout's commit, marked when src/ has uncommitted changes (others commit too)."""
    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=BENCH.parent, capture_output=True,
                                  text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" + uncommitted changes in src/" if git("status", "--porcelain", "src") else "")


def _raise_fd_limit() -> None:
    # vsmanager inherits this: the memory scenario holds 1,000 connections open.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 8192 if hard == resource.RLIM_INFINITY else min(hard, 8192)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


class Bench:
    def __init__(self, timing: Timing, runs: int, settings: dict[str, str],
                 pythonpath: str | None) -> None:
        self.timing = timing
        self.runs = runs
        self.settings = settings
        self.pythonpath = pythonpath
        self.results: dict[tuple[Case, Kind], list[dict[str, Any]]] = {}

    def measure(self, case: Case, workdir: Path) -> None:
        if (case, KINDS[0]) in self.results:
            return
        for kind in KINDS:
            self.results[case, kind] = []
        for run in range(self.runs):
            # Alternate who goes first, so a drift in the machine's load favours neither.
            order = KINDS if run % 2 == 0 else KINDS[::-1]
            for kind in order:
                result = self.run_once(case, kind, workdir)
                self.results[case, kind].append(result)
                _progress(case, kind, run, result)

    def median(self, case: Case, kind: Kind) -> dict[str, Any]:
        return median_of(self.results.get((case, kind), []))

    def run_once(self, case: Case, kind: Kind, workdir: Path) -> dict[str, Any]:
        t = self.timing
        window = t.stall_window if case.staller else t.window
        await_close = t.await_close if case.staller and kind == "vsmanager" else 0.0
        budget = t.warmup + window + t.drain + await_close + 60
        loadavg = os.getloadavg()[0]
        with run_target(kind, workdir, rate=case.rate, max_seconds=budget + 30,
                        compression=case.compression, settings=self.settings,
                        pythonpath=self.pythonpath) as target:
            argv = self.load_argv(case, target, window, await_close)
            try:
                done = subprocess.run(argv, capture_output=True, text=True, timeout=budget + 30)
            except subprocess.TimeoutExpired as exc:
                raise RuntimeError(f"load process timed out: {exc.stderr!r}") from None
        if done.returncode != 0 or not done.stdout.strip():
            raise RuntimeError(f"load process failed ({done.returncode}):\n{done.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        result["loadavg_1min"] = loadavg
        # Others commit to src/ while the benchmark runs: note what each run measured.
        result["src"] = self.pythonpath or _commit()
        return result

    def load_argv(self, case: Case, target: Target, window: float, await_close: float) -> list[str]:
        t = self.timing
        argv = [
            sys.executable, str(BENCH / "load.py"), "--url", target.ws_url(case.fmt),
            "--key", ADMIN_KEY, "--mode", case.mode, "--clients", str(case.clients),
            "--warmup", str(t.warmup), "--window", str(window), "--drain", str(t.drain),
            "--server-pid", str(target.process.pid), "--progress", str(target.progress_path),
            "--server-log", str(target.log_path), "--await-close", str(await_close),
        ]
        if case.staller:
            argv.append("--staller")
        return argv


def _progress(case: Case, kind: Kind, run: int, result: dict[str, Any]) -> None:
    if case.mode == "idle":
        summary = f"{result['per_client_kib']} KiB per connection"
    else:
        summary = (f"p50 {fmt_ms(result['p50_ms'])} p99 {fmt_ms(result['p99_ms'])} "
                   f"max {fmt_ms(result['max_ms'])} ms, lost {result['lost']}"
                   f"+{result['undelivered']}, CPU {result['server_cpu_pct']} %, "
                   f"others {result['others_cpu_pct']} %")
    print(f"  {describe(case):<40} {kind:<9} run {run + 1}: {summary}", file=sys.stderr,
          flush=True)


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of every numeric figure over the runs (None where no run has one)."""
    out: dict[str, Any] = {}
    for key in runs[0] if runs else ():
        values = [r[key] for r in runs if isinstance(r.get(key), int | float)
                  and not isinstance(r.get(key), bool)]
        out[key] = statistics.median(values) if values else None
    if runs and "staller" in runs[0]:
        out["staller"] = [r["staller"] for r in runs]
    out["write_stuck"] = any(r.get("write_stuck") for r in runs)
    return out


# -- the report ---------------------------------------------------------------------------------


def describe(case: Case) -> str:
    parts = [case.mode if case.mode == "idle" else case.fmt, f"{case.clients} clients",
             f"{case.rate:g} lines/s"]
    if case.staller:
        parts.append("+1 stalled")
    if case.compression:
        parts.append("deflate")
    return ", ".join(parts)


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "∞"
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


def fmt_ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None or theirs == 0 or math.isinf(theirs):
        return "-"
    if math.isinf(ours):
        return "∞"
    return f"{ours / theirs:.2f}x"


def fmt_lost(m: dict[str, Any]) -> str:
    lost, late = m.get("lost") or 0, m.get("undelivered") or 0
    return f"{lost:g}" + (f" + {late:g} late" if late else "")


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("yes" if ok else "**no**")


def render(bench: Bench, scenarios: Iterable[str], timing: Timing, runs: int,
           context: dict[str, Any]) -> str:
    out = [f"# Console streaming benchmark — {context['started']}", ""]
    out += _machine(context, timing, runs)
    for scenario in scenarios:
        out += {"rate": _rate_table, "stall": _stall_table, "memory": _memory_table,
                "compression": _compression_table}[scenario](bench)
    out += _context_table(bench)
    return "\n".join(out) + "\n"


def _machine(context: dict[str, Any], timing: Timing, runs: int) -> list[str]:
    before = ", ".join(f"{x:.2f}" for x in context["loadavg_before"])
    after = ", ".join(f"{x:.2f}" for x in context["loadavg_after"])
    tried = f"vsmanager at commit {context['commit']}. "
    if context["vsmanager"] != "this checkout" or context["settings"]:
        tried = (f"vsmanager from {context['vsmanager']} with settings {context['settings']}"
                 " (a proposed change, not the committed code). ")
    return [
        tried + f"Machine: {psutil.cpu_count()} cores ({_cpu_model()}), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}. "
        f"Load average before {before}; after {after} (the machine is shared: other work "
        "was running; see the last table).",
        f"Each figure is the median of {runs} run(s): {timing.warmup:g} s warm-up, then "
        f"{timing.window:g} s measured ({timing.stall_window:g} s with the stalled client), "
        f"lines still in flight awaited up to {timing.drain:g} s. Latencies in ms, "
        "over every line of every reader; ∞ means at least that share of lines never "
        f"arrived within {timing.drain:g} s after the window. Whole run: "
        f"{context['minutes']} min.",
        "",
    ]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def _rate_table(bench: Bench) -> list[str]:
    out = ["## Latency, loss and CPU at 1,000 lines/s", "",
           "| format | clients | vsmanager p50 / p99 / max | lost | CPU % | baseline p50 / p99 / max "
           "| lost | CPU % | p99 ratio | CPU ratio | target | met |",
           "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|"]
    for case in RATE_CASES:
        ours, theirs = bench.median(case, "vsmanager"), bench.median(case, "baseline")
        if not ours:
            continue
        target, ok = _rate_target(case, ours)
        out.append(
            f"| {case.fmt} | {case.clients} | {_lat(ours)} | {fmt_lost(ours)} | "
            f"{_num(ours['server_cpu_pct'])} | {_lat(theirs)} | {fmt_lost(theirs)} | "
            f"{_num(theirs.get('server_cpu_pct'))} | {fmt_ratio(ours['p99_ms'], theirs.get('p99_ms'))} "
            f"| {fmt_ratio(ours['server_cpu_pct'], theirs.get('server_cpu_pct'))} | {target} | "
            f"{verdict(ok)} |")
    return [*out, ""]


def _rate_target(case: Case, m: dict[str, Any]) -> tuple[str, bool | None]:
    p99, cpu = m["p99_ms"], m["server_cpu_pct"]
    clean = not m["lost"] and not m["undelivered"]
    if case.clients <= 10:
        return "p99 ≤ 2 ms", p99 <= 2 and clean
    if case.fmt == "json":
        return "p99 ≤ 25 ms, CPU ≤ 20 %", p99 <= 25 and cpu <= 20 and clean
    return "(report)", None


def _stall_table(bench: Bench) -> list[str]:
    out = ["## One stalled client at 2,000 lines/s: 10 readers, or 9 readers and 1 stalled (JSON)",
           "",
           "| server | stalled client | readers p50 / p99 / max | lost | CPU % | game's output "
           "(lines/s) | game's longest stdout write | writes > 100 ms | stalled client's end |",
           "|---|---|--:|--:|--:|--:|--:|--:|---|"]
    for kind in KINDS:
        for case in (STALL_REFERENCE, STALL_CASE):
            m = bench.median(case, kind)
            if not m:
                continue
            out.append(
                f"| {kind} | {'yes' if case.staller else 'no'} | {_lat(m)} | {fmt_lost(m)} | "
                f"{_num(m['server_cpu_pct'])} | {m['rate']:.0f} | {_block(m)} | "
                f"{m['write_blocks_over_100ms']:.0f} "
                f"| {_staller_end(m) if case.staller else ''} |")
    ours = bench.median(STALL_CASE, "vsmanager")
    ref = bench.median(STALL_REFERENCE, "vsmanager")
    if ours and ref:
        ratio = ours["p99_ms"] / ref["p99_ms"] if ref["p99_ms"] else math.inf
        block = ours["write_block_max_ms"] or 0.0
        out += ["", "| vsmanager target | figure | met |", "|---|--:|---|",
                f"| readers' p99 within 2x of the run without the stalled client | {ratio:.2f}x "
                f"| {verdict(ratio <= 2)} |",
                f"| no line lost for the readers | {fmt_lost(ours)} | "
                f"{verdict(not ours['lost'] and not ours['undelivered'])} |",
                f"| the game's stdout never blocked 100 ms or more | {_block(ours)} | "
                f"{verdict(block < 100 and not ours['write_stuck'])} |"]
    return [*out, ""]


def _staller_end(m: dict[str, Any]) -> str:
    ends = []
    for s in m.get("staller") or []:
        after = s["too_slow_logged_after_s"]
        if after is not None:
            ends.append(f"closed {s['close_code']} after {after:g} s")
        elif s["close_code"] is not None:
            ends.append(f"closed {s['close_code']}")
        else:
            ends.append("never closed")
    return "; ".join(ends)


def _memory_table(bench: Bench) -> list[str]:
    case = next((c for (c, _) in bench.results if c.mode == "idle"), None)
    if case is None:
        return []
    ours, theirs = bench.median(case, "vsmanager"), bench.median(case, "baseline")
    out = [f"## Memory per idle connection ({case.clients:,} connections, JSON)", "",
           "| server | RSS with 0 (MiB) | RSS with all (MiB) | KiB per connection | target | met |",
           "|---|--:|--:|--:|---|---|"]
    for kind, m in (("vsmanager", ours), ("baseline", theirs)):
        ok = m["per_client_kib"] <= MEMORY_TARGET_KIB if kind == "vsmanager" else None
        out.append(f"| {kind} | {m['rss_before_mib']:.1f} | {m['rss_after_mib']:.1f} | "
                   f"{m['per_client_kib']:.1f} | {f'≤ {MEMORY_TARGET_KIB} KiB' if ok is not None else ''} | "
                   f"{verdict(ok) if ok is not None else ''} |")
    out.append(f"\nRatio vsmanager/baseline: {fmt_ratio(ours['per_client_kib'], theirs['per_client_kib'])}")
    return [*out, ""]


def _compression_table(bench: Bench) -> list[str]:
    out = ["## permessage-deflate off and on (10 clients, 1,000 lines/s; clients offer it)", "",
           "| format | VS_WS_COMPRESSION | vsmanager p50 / p99 / max | lost | CPU % | "
           "baseline p50 / p99 / max | CPU % | p99 ratio | CPU ratio |",
           "|---|---|--:|--:|--:|--:|--:|--:|--:|"]
    for case in COMPRESSION_CASES:
        ours, theirs = bench.median(case, "vsmanager"), bench.median(case, "baseline")
        if not ours:
            continue
        out.append(
            f"| {case.fmt} | {'true' if case.compression else 'false'} | {_lat(ours)} | "
            f"{fmt_lost(ours)} | {_num(ours['server_cpu_pct'])} | {_lat(theirs)} | "
            f"{_num(theirs.get('server_cpu_pct'))} | {fmt_ratio(ours['p99_ms'], theirs.get('p99_ms'))} "
            f"| {fmt_ratio(ours['server_cpu_pct'], theirs.get('server_cpu_pct'))} |")
    return [*out, ""]


def _context_table(bench: Bench) -> list[str]:
    out = ["## What else was running (medians, % of one core)", "",
           "| case | server | frames per reader per s | load tool CPU | line generator CPU | "
           "everything else on the machine | load avg (1 min) |",
           "|---|---|--:|--:|--:|--:|--:|"]
    for (case, kind), runs in bench.results.items():
        if case.mode == "idle" or not runs:
            continue
        m = median_of(runs)
        out.append(f"| {describe(case)} | {kind} | {_num(m['frames_per_reader_s'])} | "
                   f"{_num(m['load_cpu_pct'])} | {_num(m['linegen_cpu_pct'])} | "
                   f"{_num(m['others_cpu_pct'])} | {m['loadavg_1min']:.2f} |")
    return [*out, ""]


def _lat(m: dict[str, Any]) -> str:
    if not m or m.get("p50_ms") is None:
        return "-"
    return f"{fmt_ms(m['p50_ms'])} / {fmt_ms(m['p99_ms'])} / {fmt_ms(m['max_ms'])}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _block(m: dict[str, Any]) -> str:
    block = m.get("write_block_max_ms") or 0.0
    text = "< 2 ms" if block < 2 else f"{block:.0f} ms"
    return text + (" (still blocked)" if m.get("write_stuck") else "")


if __name__ == "__main__":
    sys.exit(main())
