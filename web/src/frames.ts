// The JSON frames of /api/v1alpha1/console/ws?format=json, and their validation.
// Frames come from the network: nothing is trusted until parseFrame has checked its shape.

export type Stream = "stdout" | "stderr" | "command" | "system";
export type ServerStateName = "stopped" | "starting" | "running" | "stopping" | "crashed";

export interface ConsoleLine {
  readonly seq: number;
  readonly ts: string;
  readonly stream: Stream;
  readonly text: string;
  /** The key name that sent a command line (servers with named keys). */
  readonly by?: string;
}

export type RunOutcome = "stopped" | "crashed" | "killed";

/** How a run of the game ended (status `last_run`, one entry of /console/runs). */
export interface RunInfo {
  readonly run: number;
  readonly started_at: string | null;
  readonly ended_at: string | null;
  readonly exit_code: number | null;
  readonly outcome: RunOutcome | null;
  readonly first_seq?: number;
  readonly last_seq?: number;
}

/** What the game's console said about itself (status `game`). */
export interface GameFacts {
  readonly version: string | null;
  readonly channel: string | null;
  readonly players_online: number;
  readonly players_max: number | null;
  readonly players: readonly string[];
  readonly overloaded_ticks: number;
  readonly last_overload_ms: number | null;
}

export interface ServerStatus {
  readonly state: ServerStateName;
  readonly pid: number | null;
  readonly uptime_s: number | null;
  readonly exit_code: number | null;
  readonly started_at: string | null;
  readonly restarts: number;
  // Newer servers add these; an older one leaves them out, and the page copes.
  readonly console_id?: string;
  readonly run?: number | null;
  readonly run_first_seq?: number | null;
  readonly last_run?: RunInfo | null;
  readonly restart_policy?: string;
  readonly next_restart_at?: string | null;
  readonly crashes?: number;
  readonly gave_up?: boolean;
  readonly game?: GameFacts;
}

/** One resource sample of GET /server/metrics (t: unix seconds). */
export interface MetricsSample {
  readonly t: number;
  readonly game_cpu_percent: number | null;
  readonly game_rss_bytes: number | null;
  readonly lines_per_second: number;
  readonly players_online: number;
  readonly clients?: number;
}

/** Lines the server could not deliver: both ends inclusive. */
export interface Gap {
  readonly from_seq: number;
  readonly to_seq: number;
  readonly count: number;
}

export type Frame =
  | ({ readonly type: "status" } & ServerStatus)
  | { readonly type: "lines"; readonly lines: readonly ConsoleLine[] }
  | ({ readonly type: "gap" } & Gap)
  | { readonly type: "error"; readonly code: string; readonly message: string };

const STREAMS: ReadonlySet<string> = new Set(["stdout", "stderr", "command", "system"]);
const STATES: ReadonlySet<string> = new Set(["stopped", "starting", "running", "stopping", "crashed"]);

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isInt(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value);
}

function isIntOrNull(value: unknown): value is number | null {
  return value === null || typeof value === "number";
}

export function isConsoleLine(value: unknown): value is ConsoleLine {
  return (
    isObject(value) &&
    isInt(value["seq"]) &&
    typeof value["ts"] === "string" &&
    typeof value["stream"] === "string" &&
    STREAMS.has(value["stream"]) &&
    typeof value["text"] === "string" &&
    (value["by"] === undefined || typeof value["by"] === "string")
  );
}

const OUTCOMES: ReadonlySet<string> = new Set(["stopped", "crashed", "killed"]);

function isStringOrNull(value: unknown): value is string | null {
  return value === null || typeof value === "string";
}

export function isRunInfo(value: unknown): value is RunInfo {
  return (
    isObject(value) &&
    isInt(value["run"]) &&
    isStringOrNull(value["started_at"] ?? null) &&
    isStringOrNull(value["ended_at"] ?? null) &&
    isIntOrNull(value["exit_code"] ?? null) &&
    (value["outcome"] === null || value["outcome"] === undefined || (typeof value["outcome"] === "string" && OUTCOMES.has(value["outcome"])))
  );
}

function isNumberOrNull(value: unknown): value is number | null {
  return value === null || (typeof value === "number" && Number.isFinite(value));
}

export function isMetricsSample(value: unknown): value is MetricsSample {
  return (
    isObject(value) &&
    typeof value["t"] === "number" &&
    isNumberOrNull(value["game_cpu_percent"] ?? null) &&
    isNumberOrNull(value["game_rss_bytes"] ?? null) &&
    typeof value["lines_per_second"] === "number" &&
    typeof value["players_online"] === "number"
  );
}

export function isGameFacts(value: unknown): value is GameFacts {
  return (
    isObject(value) &&
    isStringOrNull(value["version"] ?? null) &&
    isInt(value["players_online"]) &&
    Array.isArray(value["players"]) &&
    value["players"].every((p) => typeof p === "string")
  );
}

/** The status's optional facts, each only when it has the documented shape. */
export function statusFacts(status: ServerStatus): {
  run: number | null;
  runFirstSeq: number | null;
  lastRun: RunInfo | null;
  nextRestartAt: string | null;
  gaveUp: boolean;
  crashes: number | null;
  consoleId: string | null;
  game: GameFacts | null;
} {
  const raw = status as unknown as Json;
  return {
    run: isInt(raw["run"]) ? raw["run"] : null,
    runFirstSeq: isInt(raw["run_first_seq"]) ? raw["run_first_seq"] : null,
    lastRun: isRunInfo(raw["last_run"]) ? raw["last_run"] : null,
    nextRestartAt: typeof raw["next_restart_at"] === "string" ? raw["next_restart_at"] : null,
    gaveUp: raw["gave_up"] === true,
    crashes: isInt(raw["crashes"]) ? raw["crashes"] : null,
    consoleId: typeof raw["console_id"] === "string" ? raw["console_id"] : null,
    game: isGameFacts(raw["game"]) ? raw["game"] : null,
  };
}

export function isServerStatus(value: unknown): value is ServerStatus {
  return (
    isObject(value) &&
    typeof value["state"] === "string" &&
    STATES.has(value["state"]) &&
    isIntOrNull(value["pid"]) &&
    isIntOrNull(value["uptime_s"]) &&
    isIntOrNull(value["exit_code"]) &&
    (value["started_at"] === null || typeof value["started_at"] === "string") &&
    isInt(value["restarts"])
  );
}

/** The frame in a text message, or null when it is not one we understand. */
export function parseFrame(data: string): Frame | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isObject(value)) return null;
  switch (value["type"]) {
    case "status":
      return isServerStatus(value) ? (value as unknown as Frame) : null;
    case "lines": {
      const lines = value["lines"];
      return Array.isArray(lines) && lines.every(isConsoleLine) ? (value as Frame) : null;
    }
    case "gap":
      return isInt(value["from_seq"]) && isInt(value["to_seq"]) && isInt(value["count"])
        ? (value as Frame)
        : null;
    case "error":
      return typeof value["code"] === "string" && typeof value["message"] === "string"
        ? (value as Frame)
        : null;
    default:
      return null;
  }
}
