// The strip's pure parts: run marks, the metrics window, and the words for runs and restarts.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ServerStatus } from "../src/frames";
import { describeRestart, describeRun, summarize } from "../src/glance";
import { MetricsSeries, WINDOW_S } from "../src/metrics";
import { RunMarks } from "../src/runmarks";

const base: ServerStatus = { state: "running", pid: 1, uptime_s: 5, exit_code: null, started_at: "2026-12-01T03:00:00Z", restarts: 0 };

test("a run is marked once: at its first seq from /console/runs, or when status says it began", () => {
  const marks = new RunMarks(() => "03:00:00");
  marks.learn([
    { run: 1, started_at: "x", ended_at: "y", exit_code: 3, outcome: "crashed", first_seq: 1, last_seq: 40 },
    { run: 2, started_at: "x", ended_at: null, exit_code: null, outcome: null, first_seq: 41, last_seq: 90 },
  ]);
  assert.deepEqual(marks.within(1, 1), [{ seq: 1, text: "▶ run 1 · started 03:00:00" }]);
  assert.deepEqual(marks.within(1, 1), []);
  assert.deepEqual(marks.within(2, 40), []);
  assert.equal(marks.onStatus(2, "x"), null); // the first status only says where we are
  assert.deepEqual(marks.within(41, 41), [{ seq: 41, text: "▶ run 2 · started 03:00:00" }]);
  assert.equal(marks.onStatus(2, "x"), null);
  assert.equal(marks.onStatus(3, "x"), "▶ run 3 · started 03:00:00"); // began while we watched
  assert.equal(marks.onStatus(3, "x"), null);
  marks.reset();
  assert.deepEqual(marks.within(1, 100), []);
});

test("a run that starts while older lines are still coming is marked at its first line", () => {
  const marks = new RunMarks(() => "03:00:00");
  assert.equal(marks.onStatus(1, null, 1, 50), null); // where we are
  // Run 2 begins at seq 500 while the page has only read up to 120: the mark waits for it.
  assert.equal(marks.onStatus(2, "x", 500, 120), null);
  assert.deepEqual(marks.within(121, 499), []);
  assert.deepEqual(marks.within(500, 600), [{ seq: 500, text: "▶ run 2 · started 03:00:00" }]);
  assert.deepEqual(marks.within(500, 600), []);
  // The page had already read past run 3's first line: marked now, as an older server's.
  assert.equal(marks.onStatus(3, "x", 700, 800), "▶ run 3 · started 03:00:00");
  assert.equal(marks.onStatus(4, "x"), "▶ run 4 · started 03:00:00");
});

test("a frame's run marks come in one pass, oldest first, each once, only within its seqs", () => {
  const marks = new RunMarks(() => "03:00:00");
  const run = (n: number, first: number) => ({ run: n, started_at: null, ended_at: null, exit_code: null, outcome: null, first_seq: first });
  marks.learn([run(3, 300), run(1, 100), run(2, 200), run(4, 400)]);
  assert.deepEqual(marks.within(150, 350), [
    { seq: 200, text: "▶ run 2" },
    { seq: 300, text: "▶ run 3" },
  ]);
  assert.deepEqual(marks.within(1, 1000).map((m) => m.seq), [100, 400]);
  assert.deepEqual(marks.within(1, 1000), []);
});

test("the metrics series keeps an hour and only samples newer than it has", () => {
  const series = new MetricsSeries();
  const sample = (t: number) => ({ t, game_cpu_percent: 1, game_rss_bytes: 2, lines_per_second: 3, players_online: 0 });
  series.add([sample(10), sample(15)]);
  series.add([sample(15), sample(20)]);
  assert.deepEqual(series.times(), [10, 15, 20]);
  series.add([sample(20 + WINDOW_S - 5), sample(20 + WINDOW_S)]);
  assert.deepEqual(series.times(), [20, 15 + WINDOW_S, 20 + WINDOW_S]);
  assert.equal(series.newest, 20 + WINDOW_S);
});

test("how a run ended, and what vsmanager does next", () => {
  const run = { run: 3, started_at: "2026-12-01T03:00:00Z", ended_at: "2026-12-01T03:02:05Z", exit_code: 3, outcome: "crashed" as const };
  assert.match(describeRun(run), /^Run 3 crashed with exit code 3 at \d\d:\d\d:\d\d after 2m 5s\.$/);
  assert.match(describeRun({ ...run, outcome: "killed", exit_code: -9 }), /^Run 3 was killed with exit code -9/);
  const crashed = { ...base, state: "crashed" as const, next_restart_at: "2026-12-01T03:02:10Z", crashes: 1, gave_up: false };
  assert.equal(describeRestart(crashed, Date.parse("2026-12-01T03:02:06Z")), "Restarting in 4 s.");
  assert.match(describeRestart({ ...crashed, next_restart_at: null, gave_up: true, crashes: 5 }, 0), /5 times .*gave up/);
  assert.equal(describeRestart(base, 0), "");
});

test("the summary names version, players, the last run and the restart state", () => {
  const status: ServerStatus = {
    ...base,
    state: "crashed",
    last_run: { run: 2, started_at: null, ended_at: "2026-12-01T03:02:05Z", exit_code: 3, outcome: "crashed" },
    next_restart_at: "2026-12-01T03:02:10Z",
    gave_up: false,
    game: { version: "1.22.6", channel: "Stable", players_online: 2, players_max: 16, players: ["a", "b"], overloaded_ticks: 0, last_overload_ms: null },
  };
  assert.match(summarize(status, Date.parse("2026-12-01T03:02:07Z")), /^v1\.22\.6 \(Stable\) · 2 \/ 16 players · last run crashed \(code 3\) \d\d:\d\d:\d\d · restarting in 3 s$/);
  assert.equal(summarize(base, 0), ""); // an older server: nothing to say, nothing wrong
});
