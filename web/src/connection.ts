// The console socket: connect, resume after a drop, and hand each line over exactly once.
//
// Resuming is the server's job (`after=<last seq>` returns exactly the lines after it, with a
// gap frame for any it no longer holds); ours is to remember the last seq we handed over and
// to ask for nothing older. Lines at or below it are dropped and counted: that count staying
// at zero is what the browser tests check.
import { Backoff } from "./backoff";
import { API_BASE } from "./api";
import { parseFrame, type ConsoleLine, type Gap, type ServerStatus } from "./frames";

// Close codes of /console/ws (docs/api.md), never bare numbers.
export const WS_1009_MESSAGE_TOO_BIG = 1009;
export const WS_1012_SERVICE_RESTART = 1012;
export const WS_4001_UNAUTHORIZED = 4001;
export const WS_4003_FORBIDDEN = 4003;
export const WS_4008_CLIENT_TOO_SLOW = 4008;
export const WS_4400_BAD_REQUEST = 4400;

/** What the page can draw: the server sends a busy console in at most this many frames a second. */
export const FRAMES_PER_SECOND = 60;

/** How long a connection must stay up before the backoff starts again from its shortest delay. */
const STABLE_AFTER_MS = 5_000;

export type ConnectionState =
  | { readonly kind: "idle" }
  | { readonly kind: "connecting"; readonly attempt: number }
  | { readonly kind: "connected" }
  | {
      readonly kind: "waiting";
      readonly retryAt: number;
      /** "dropped": we were connected; "unreachable": the connection never opened. */
      readonly reason: "dropped" | "unreachable" | "restarting";
    }
  | { readonly kind: "signed-out"; /** The server's close reason, e.g. "key revoked". */ readonly reason?: string }
  | { readonly kind: "forbidden" }
  | { readonly kind: "closed" };

type Kind = ConnectionState["kind"];

const TRANSITIONS: Readonly<Record<Kind, readonly Kind[]>> = {
  idle: ["connecting", "closed"],
  connecting: ["connected", "waiting", "signed-out", "forbidden", "closed"],
  connected: ["waiting", "signed-out", "forbidden", "closed"],
  waiting: ["connecting", "closed"],
  "signed-out": ["closed"],
  forbidden: ["closed"],
  closed: [],
};

export class IllegalTransition extends Error {
  constructor(from: Kind, to: Kind) {
    super(`connection cannot go from ${from} to ${to}; expected one of: ${TRANSITIONS[from].join(", ") || "nothing"}`);
    this.name = "IllegalTransition";
  }
}

export interface ConnectionHandlers {
  onLines(lines: readonly ConsoleLine[]): void;
  onGap(gap: Gap): void;
  onStatus(status: ServerStatus): void;
  /** vsmanager no longer has our last seq (it restarted): what follows starts afresh. */
  onReset(message: string, code: string): void;
  onServerError(code: string, message: string): void;
  onState(state: ConnectionState): void;
}

/** How the socket proves who we are: a single-use ticket, or (a server without tickets) the key. */
export type Credential = { readonly ticket: string } | { readonly apiKey: string };

/** The ticket request was answered with a refusal: 401 (key no longer valid) or 403. */
export class CredentialRefused extends Error {
  constructor(readonly status: 401 | 403) {
    super(status === 401 ? "the key is no longer accepted" : "the key may not open the console");
    this.name = "CredentialRefused";
  }
}

export interface ConnectionOptions {
  /** Called before every connection attempt: a fresh ticket each time (they are single use). */
  readonly credential: () => Promise<Credential>;
  /** History asked for on a fresh connection (no line seen yet). */
  readonly historyLines: number;
  readonly backoff?: Backoff;
}

export class ConsoleConnection {
  private state: ConnectionState = { kind: "idle" };
  private socket: WebSocket | null = null;
  private timer: number | undefined;
  private openedAt = 0;
  private attempts = 0;
  private readonly backoff: Backoff;
  /** The newest seq handed to onLines or covered by a gap; null before the first. */
  private lastSeq: number | null = null;
  /** Whose numbering lastSeq belongs to (from status frames); sent with `after`. */
  private consoleId: string | null = null;
  /** Lines that arrived at or below lastSeq (should stay 0: the server resumes exactly). */
  duplicatesDropped = 0;
  connects = 0;
  /** `lines` frames received (with FRAMES_PER_SECOND in effect, at most about that many a second). */
  linesFrames = 0;

  constructor(
    private readonly options: ConnectionOptions,
    private readonly handlers: ConnectionHandlers,
  ) {
    this.backoff = options.backoff ?? new Backoff();
  }

  get current(): ConnectionState {
    return this.state;
  }

  get lastSeen(): number | null {
    return this.lastSeq;
  }

  get console(): string | null {
    return this.consoleId;
  }

  start(): void {
    this.connect();
  }

  /** Skip the wait (the "reconnect now" button, or the browser coming back online). */
  reconnectNow(): void {
    if (this.state.kind !== "waiting") return;
    window.clearTimeout(this.timer);
    this.connect();
  }

  close(): void {
    window.clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, "closed by the page");
    if (this.state.kind !== "closed") this.transition({ kind: "closed" });
  }

  /** Sends a command frame; false when not connected (the caller then uses REST). */
  sendCommand(command: string): boolean {
    if (this.state.kind !== "connected" || this.socket === null) return false;
    this.socket.send(JSON.stringify({ type: "command", command }));
    return true;
  }

  private url(credential: Credential): string {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    // A frame per animation frame at most: a busy console (5,000 lines/s) would otherwise
    // send a frame per few lines, and each costs the main thread more than the lines in it.
    const query = new URLSearchParams({ format: "json", frames_per_second: String(FRAMES_PER_SECOND) });
    if ("ticket" in credential) query.set("ticket", credential.ticket);
    else query.set("api_key", credential.apiKey);
    // Always say how much history a fresh client would get: a vsmanager that restarted
    // (console_restarted) answers a resume with exactly that.
    query.set("history_lines", String(this.options.historyLines));
    if (this.lastSeq !== null) {
      query.set("after", String(this.lastSeq));
      if (this.consoleId !== null) query.set("console_id", this.consoleId);
    }
    return `${scheme}//${location.host}${API_BASE}/console/ws?${query}`;
  }

  private connect(): void {
    this.attempts += 1;
    const attempt = this.attempts;
    this.transition({ kind: "connecting", attempt });
    const current = (): boolean => this.attempts === attempt && this.state.kind === "connecting";
    this.options.credential().then(
      (credential) => {
        if (current()) this.open(credential);
      },
      (error: unknown) => {
        if (!current()) return;
        if (error instanceof CredentialRefused) {
          this.transition(error.status === 401 ? { kind: "signed-out" } : { kind: "forbidden" });
          return;
        }
        this.retry(false, 1006);
      },
    );
  }

  private open(credential: Credential): void {
    const socket = new WebSocket(this.url(credential));
    this.socket = socket;
    // Each handler checks it still belongs to the current socket: a late event from an old
    // socket must never touch the new connection's state.
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.openedAt = performance.now();
      this.connects += 1;
      this.transition({ kind: "connected" });
    };
    socket.onmessage = (event: MessageEvent) => {
      if (this.socket !== socket || typeof event.data !== "string") return;
      this.onMessage(event.data);
    };
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.onClose(event.code, event.reason);
    };
  }

  private onMessage(data: string): void {
    const frame = parseFrame(data);
    if (frame === null) return; // a newer server's frame type: ignore rather than break
    switch (frame.type) {
      case "lines": {
        this.linesFrames += 1;
        // Seqs ascend within a frame: only one that starts at or below lastSeq needs a filter.
        const after = this.lastSeq;
        const fresh =
          after === null || (frame.lines[0]?.seq ?? 0) > after ? frame.lines : frame.lines.filter((l) => l.seq > after);
        this.duplicatesDropped += frame.lines.length - fresh.length;
        const last = fresh[fresh.length - 1];
        if (last !== undefined) {
          this.lastSeq = last.seq;
          this.handlers.onLines(fresh);
        }
        break;
      }
      case "gap":
        this.lastSeq = Math.max(this.lastSeq ?? 0, frame.to_seq);
        this.handlers.onGap(frame);
        break;
      case "status":
        if (typeof frame.console_id === "string") this.consoleId = frame.console_id;
        this.handlers.onStatus(frame);
        break;
      case "error":
        if (frame.code === "console_restarted" || frame.code === "after_out_of_range") {
          // vsmanager restarted and numbers its lines afresh: what follows is what a fresh
          // client gets, in the new numbering. (after_out_of_range: a server without
          // console_id, which could only tell once our seq was beyond its newest.)
          this.lastSeq = null;
          this.consoleId = null;
          this.handlers.onReset(frame.message, frame.code);
        } else {
          this.handlers.onServerError(frame.code, frame.message);
        }
        break;
    }
  }

  private onClose(code: number, reason: string): void {
    if (this.state.kind === "closed") return;
    if (code === WS_4001_UNAUTHORIZED) {
      this.transition(reason === "" ? { kind: "signed-out" } : { kind: "signed-out", reason });
      return;
    }
    if (code === WS_4003_FORBIDDEN) {
      this.transition({ kind: "forbidden" });
      return;
    }
    const wasConnected = this.state.kind === "connected";
    if (code === WS_4400_BAD_REQUEST || code === WS_1009_MESSAGE_TOO_BIG) {
      this.handlers.onServerError(`close_${code}`, reason || "the server refused the connection");
    }
    this.retry(wasConnected, code);
  }

  private retry(wasConnected: boolean, code: number): void {
    if (wasConnected && performance.now() - this.openedAt >= STABLE_AFTER_MS) this.backoff.reset();
    let delay = this.backoff.next();
    if (code === WS_4008_CLIENT_TOO_SLOW && wasConnected) {
      // We fell behind; the server asks us to resume at once with `after`.
      delay = Math.min(delay, 250);
    }
    const why = code === WS_1012_SERVICE_RESTART ? "restarting" : wasConnected ? "dropped" : "unreachable";
    this.transition({ kind: "waiting", retryAt: Date.now() + delay, reason: why });
    this.timer = window.setTimeout(() => this.connect(), delay);
  }

  private transition(next: ConnectionState): void {
    if (!TRANSITIONS[this.state.kind].includes(next.kind)) {
      throw new IllegalTransition(this.state.kind, next.kind);
    }
    this.state = next;
    this.handlers.onState(next);
  }
}
