// The REST half of the API (/api/v1alpha1), same-origin, key as Authorization: Bearer.
import {
  isConsoleLine,
  isMetricsSample,
  isRunInfo,
  isServerStatus,
  type ConsoleLine,
  type MetricsSample,
  type RunInfo,
  type ServerStatus,
} from "./frames";
import { EMPTY_VOCABULARY, parseVocabulary, type Vocabulary } from "./vocabulary";

export const API_BASE = "/api/v1alpha1";
const REQUEST_TIMEOUT_MS = 15_000;

/** The API answered with an error body ({"code", "message"}). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** No answer at all: vsmanager is down or the network is. */
export class ServerUnreachable extends Error {
  constructor(cause: unknown) {
    super(`vsmanager is unreachable (${String(cause)})`);
    this.name = "ServerUnreachable";
  }
}

export interface HistoryPage {
  readonly lines: readonly ConsoleLine[];
  readonly first_seq: number;
  readonly last_seq: number;
}

export interface RunsPage {
  readonly console_id: string | null;
  readonly runs: readonly RunInfo[];
}

export interface MetricsPage {
  readonly interval_s: number;
  readonly samples: readonly MetricsSample[];
}

export type ServerAction = "start" | "stop" | "restart";

export class ApiClient {
  constructor(private readonly key: string) {}

  async status(): Promise<ServerStatus> {
    const body = await this.request("GET", "/server/status");
    if (!isServerStatus(body)) throw new ApiError(200, "bad_response", "unexpected status body");
    return body;
  }

  async history(params: { lines: number } | { after: number; limit: number }): Promise<HistoryPage> {
    const query = new URLSearchParams(
      Object.entries(params).map(([name, value]) => [name, String(value)]),
    );
    return (await this.request("GET", `/console/history?${query}`)) as HistoryPage;
  }

  /**
   * A single-use ticket for the console socket, so the key never travels in a URL; null
   * from a vsmanager without tickets (404).
   */
  async ticket(): Promise<string | null> {
    try {
      const body = (await this.request("POST", "/auth/ticket")) as { ticket?: unknown };
      if (typeof body.ticket !== "string") throw new ApiError(200, "bad_response", "unexpected ticket body");
      return body.ticket;
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 405)) return null;
      throw error;
    }
  }

  /** The runs whose lines vsmanager still holds (Admin); null from a server without runs. */
  async runs(): Promise<RunsPage | null> {
    try {
      const body = (await this.request("GET", "/console/runs")) as { runs?: unknown; console_id?: unknown };
      const runs = Array.isArray(body.runs) ? body.runs.filter(isRunInfo) : [];
      return { console_id: typeof body.console_id === "string" ? body.console_id : null, runs };
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }

  /** The newest `limit` lines of one run (`history?run=N`, paged with after/limit). */
  async runLines(run: RunInfo, limit: number): Promise<ConsoleLine[]> {
    const last = run.last_seq ?? 0;
    const after = Math.max((run.first_seq ?? 1) - 1, last - limit);
    const query = new URLSearchParams({ run: String(run.run), after: String(after), limit: String(limit) });
    const page = (await this.request("GET", `/console/history?${query}`)) as HistoryPage;
    return Array.isArray(page.lines) ? page.lines.filter(isConsoleLine) : [];
  }

  async metrics(since: number | null): Promise<MetricsPage> {
    const query = since === null ? "" : `?since=${encodeURIComponent(String(since))}`;
    const body = (await this.request("GET", `/server/metrics${query}`)) as { interval_s?: unknown; samples?: unknown };
    const samples = Array.isArray(body.samples) ? body.samples.filter(isMetricsSample) : [];
    return { interval_s: typeof body.interval_s === "number" ? body.interval_s : 5, samples };
  }

  /** How the game's lines read and its player commands; empty from an older server. */
  async vocabulary(): Promise<Vocabulary> {
    try {
      return parseVocabulary(await this.request("GET", "/console/profile"));
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 405)) return EMPTY_VOCABULARY;
      throw error;
    }
  }

  async command(command: string): Promise<number> {
    const body = (await this.request("POST", "/console/command", { command })) as { seq: number };
    return body.seq;
  }

  async serverAction(action: ServerAction): Promise<ServerStatus> {
    return (await this.request("POST", `/server/${action}`)) as ServerStatus;
  }

  /** Backups (docs/backups.md): any call under /backups, its JSON body. */
  async backups(method: string, path: string, body?: unknown): Promise<unknown> {
    return this.request(method, `/backups${path}`, body);
  }

  /** A backup's archive as a Blob (the key travels in a header, so no plain link). */
  async backupFile(id: string): Promise<Blob> {
    const response = await fetch(`${API_BASE}/backups/${encodeURIComponent(id)}/download`, {
      headers: { Authorization: `Bearer ${this.key}` },
      cache: "no-store",
    });
    if (!response.ok) throw errorFrom(response.status, await response.json().catch(() => null));
    return response.blob();
  }

  /** Any other endpoint (schedules, notifications): its JSON answer (null for a 204). */
  async call(method: string, path: string, body?: unknown): Promise<unknown> {
    return await this.request(method, path, body);
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    // A bearer token: proxies mask Authorization in their logs by default, not X-API-Key.
    const headers: Record<string, string> = { Authorization: `Bearer ${this.key}`, Accept: "application/json" };
    // Bounded: a request that never answers must not hold up a reconnect or a button.
    const init: RequestInit = { method, headers, cache: "no-store", signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response: Response;
    try {
      response = await fetch(`${API_BASE}${path}`, init);
    } catch (error) {
      throw new ServerUnreachable(error);
    }
    const payload: unknown = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) throw errorFrom(response.status, payload);
    return payload;
  }
}

/** What the page needs before sign-in (no key): is this the demo? False when unknown. */
export async function isDemo(): Promise<boolean> {
  try {
    const response = await fetch("/page-config", { cache: "no-store", signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const body: unknown = response.ok ? await response.json() : null;
    return typeof body === "object" && body !== null && (body as { demo?: unknown }).demo === true;
  } catch {
    return false;
  }
}

function errorFrom(status: number, payload: unknown): ApiError {
  if (typeof payload === "object" && payload !== null) {
    const { code, message } = payload as { code?: unknown; message?: unknown };
    if (typeof code === "string" && typeof message === "string") {
      return new ApiError(status, code, message);
    }
  }
  // A proxy in front of vsmanager (502, 504) answers with its own HTML page.
  return new ApiError(status, `http_${status}`, `vsmanager answered HTTP ${status}`);
}
