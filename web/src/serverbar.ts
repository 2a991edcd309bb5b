// The server bar: live state, uptime, exit code after a crash, and Start / Stop / Restart.
import { ApiError, type ApiClient, type ServerAction } from "./api";
import { confirmAction } from "./confirm";
import type { ServerStateName, ServerStatus } from "./frames";

export interface ServerBarElements {
  readonly state: HTMLElement;
  readonly detail: HTMLElement;
  readonly actions: HTMLElement;
  readonly start: HTMLButtonElement;
  readonly stop: HTMLButtonElement;
  readonly restart: HTMLButtonElement;
  readonly message: HTMLElement;
}

const ALLOWED: Readonly<Record<ServerAction, readonly ServerStateName[]>> = {
  start: ["stopped", "crashed"],
  stop: ["starting", "running"],
  restart: ["starting", "running", "stopped", "crashed"],
};

const CONFIRM: Readonly<Partial<Record<ServerAction, { title: string; text: string }>>> = {
  stop: {
    title: "Stop the game server?",
    text: "The world is saved and the server shuts down; players are disconnected.",
  },
  restart: {
    title: "Restart the game server?",
    text: "The world is saved, the server stops and starts again; players are disconnected.",
  },
};

export class ServerBar {
  private status: ServerStatus | null = null;
  private receivedAt = 0;
  private stale = false;
  private busy = false;
  private readonly ticker: number;

  constructor(
    private readonly el: ServerBarElements,
    private readonly api: ApiClient | null, // null: a Monitor key, no controls
  ) {
    el.actions.hidden = api === null;
    for (const [action, button] of [
      ["start", el.start],
      ["stop", el.stop],
      ["restart", el.restart],
    ] as const) {
      button.addEventListener("click", () => void this.run(action));
    }
    this.ticker = window.setInterval(() => this.renderDetail(), 1000);
    this.render();
  }

  get isStale(): boolean {
    return this.stale;
  }

  get state(): ServerStateName | null {
    return this.status?.state ?? null;
  }

  update(status: ServerStatus): void {
    this.status = status;
    this.receivedAt = performance.now();
    this.stale = false;
    this.render();
  }

  /** The status may be out of date (the socket is down): say so rather than show it as live. */
  markStale(): void {
    this.stale = true;
    this.render();
  }

  dispose(): void {
    window.clearInterval(this.ticker);
  }

  private async run(action: ServerAction): Promise<void> {
    const confirm = CONFIRM[action];
    if (confirm !== undefined) {
      const label = action === "stop" ? "Stop server" : "Restart server";
      if (!(await confirmAction({ ...confirm, confirmLabel: label }))) return;
    }
    if (this.api === null) return;
    this.busy = true;
    this.showMessage(null);
    this.render();
    try {
      this.update(await this.api.serverAction(action));
    } catch (error) {
      const text = error instanceof ApiError ? error.message : String(error);
      this.showMessage(`Could not ${action} the server: ${text}`);
    } finally {
      this.busy = false;
      this.render();
    }
  }

  private showMessage(text: string | null): void {
    this.el.message.hidden = text === null;
    this.el.message.textContent = text ?? "";
  }

  private render(): void {
    const state = this.status?.state ?? null;
    this.el.state.textContent = state ?? "unknown";
    this.el.state.dataset["state"] = state ?? "unknown";
    this.el.state.classList.toggle("stale", this.stale);
    this.el.state.title = this.stale ? "Last known state (not connected)" : "Game server state";
    for (const [action, button] of [
      ["start", this.el.start],
      ["stop", this.el.stop],
      ["restart", this.el.restart],
    ] as const) {
      // Stale: vsmanager is out of reach, so no action could be carried out (or even refused).
      button.disabled = this.busy || this.stale || state === null || !ALLOWED[action].includes(state);
      button.title = this.stale ? "vsmanager is unreachable" : "";
    }
    this.renderDetail();
  }

  private renderDetail(): void {
    const status = this.status;
    let detail = "";
    if (status !== null) {
      if (status.state === "crashed" && status.exit_code !== null) detail = `exit code ${status.exit_code}`;
      else if (status.state === "stopped" && status.exit_code !== null) detail = `exited with ${status.exit_code}`;
      else if (status.uptime_s !== null && status.state !== "stopped") {
        const elapsed = this.stale ? 0 : (performance.now() - this.receivedAt) / 1000;
        detail = `up ${formatDuration(status.uptime_s + elapsed)}`;
      }
      if (status.pid !== null && status.state !== "stopped" && status.state !== "crashed") detail += ` · pid ${status.pid}`;
      if (status.restarts > 0) detail += ` · ${status.restarts} restart${status.restarts === 1 ? "" : "s"}`;
    }
    this.el.detail.textContent = detail.replace(/^ · /, "");
  }
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (d > 0) return `${d}d ${h}h ${m}m`;
  if (h > 0) return `${h}h ${m}m ${rest}s`;
  if (m > 0) return `${m}m ${rest}s`;
  return `${rest}s`;
}
