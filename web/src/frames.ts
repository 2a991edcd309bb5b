// The JSON frames of /api/v1alpha1/console/ws?format=json, and their validation.
// Frames come from the network: nothing is trusted until parseFrame has checked its shape.

export type Stream = "stdout" | "stderr" | "command" | "system";
export type ServerStateName = "stopped" | "starting" | "running" | "stopping" | "crashed";

export interface ConsoleLine {
  readonly seq: number;
  readonly ts: string;
  readonly stream: Stream;
  readonly text: string;
}

export interface ServerStatus {
  readonly state: ServerStateName;
  readonly pid: number | null;
  readonly uptime_s: number | null;
  readonly exit_code: number | null;
  readonly started_at: string | null;
  readonly restarts: number;
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
    typeof value["text"] === "string"
  );
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
