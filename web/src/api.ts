// The REST half of the API (/api/v1alpha1), same-origin, key in the X-API-Key header.
import { isServerStatus, type ConsoleLine, type ServerStatus } from "./frames";

export const API_BASE = "/api/v1alpha1";

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

  async command(command: string): Promise<number> {
    const body = (await this.request("POST", "/console/command", { command })) as { seq: number };
    return body.seq;
  }

  async serverAction(action: ServerAction): Promise<ServerStatus> {
    return (await this.request("POST", `/server/${action}`)) as ServerStatus;
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { "X-API-Key": this.key, Accept: "application/json" };
    const init: RequestInit = { method, headers, cache: "no-store" };
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
    const payload: unknown = await response.json().catch(() => null);
    if (!response.ok) throw errorFrom(response.status, payload);
    return payload;
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
