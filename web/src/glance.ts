// The server at a glance, in words: how a run ended, what vsmanager will do about it, and
// the strip's one-line summary. Pure: status in, text out.
import { statusFacts, type RunInfo, type ServerStatus } from "./frames";
import { formatTime } from "./render";
import { formatDuration } from "./serverbar";

/** "run 3 crashed with exit code 3 at 03:12:09 after 2h 5m 1s" (pure, for the banner and tests). */
export function describeRun(run: RunInfo): string {
  const how =
    run.outcome === "killed" ? "was killed" : run.outcome === "stopped" ? "stopped" : "crashed";
  const code = run.exit_code === null ? "" : ` with exit code ${run.exit_code}`;
  const when = run.ended_at === null ? "" : ` at ${formatTime(run.ended_at)}`;
  let length = "";
  if (run.started_at !== null && run.ended_at !== null) {
    const seconds = (Date.parse(run.ended_at) - Date.parse(run.started_at)) / 1000;
    if (Number.isFinite(seconds)) length = ` after ${formatDuration(seconds)}`;
  }
  return `Run ${run.run} ${how}${code}${when}${length}.`;
}

/** What vsmanager will do about it: "Restarting in 4 s." / "Not restarting: …". */
export function describeRestart(status: ServerStatus, now: number): string {
  const facts = statusFacts(status);
  if (facts.gaveUp) {
    const times = facts.crashes === null ? "" : ` ${facts.crashes} times`;
    return `It crashed${times} in a row: vsmanager gave up restarting it. Start it by hand.`;
  }
  if (facts.nextRestartAt !== null) {
    const seconds = Math.max(0, Math.ceil((Date.parse(facts.nextRestartAt) - now) / 1000));
    return `Restarting in ${seconds} s.`;
  }
  return "";
}

/** The strip's one-line summary (pure): "v1.22.6 · 3 / 16 players · last run crashed (3) 03:12 · restarting in 4 s". */
export function summarize(status: ServerStatus, now: number): string {
  const facts = statusFacts(status);
  const parts: string[] = [];
  const game = facts.game;
  if (game !== null) {
    if (game.version !== null) parts.push(`v${game.version}${game.channel !== null && game.channel !== "" ? ` (${game.channel})` : ""}`);
    parts.push(`${game.players_online}${game.players_max === null ? "" : ` / ${game.players_max}`} player${game.players_online === 1 && game.players_max === null ? "" : "s"}`);
  }
  const last = facts.lastRun;
  if (last !== null && last.outcome !== null) {
    const code = last.exit_code === null ? "" : ` (code ${last.exit_code})`;
    const when = last.ended_at === null ? "" : ` ${formatTime(last.ended_at)}`;
    parts.push(`last run ${last.outcome}${code}${when}`);
  }
  if (status.state === "crashed") {
    const restart = describeRestart(status, now);
    if (facts.gaveUp) parts.push("gave up restarting");
    else if (restart !== "") parts.push(restart.replace(/\.$/, "").replace(/^R/, "r"));
  }
  return parts.join(" · ");
}

