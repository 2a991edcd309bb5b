// The connection indicator: what the socket is doing, in words, with a retry countdown.
import type { ConnectionState } from "./connection";

export class ConnectionIndicator {
  private state: ConnectionState = { kind: "idle" };
  private ticker: number | undefined;

  constructor(
    private readonly label: HTMLElement,
    private readonly reconnectButton: HTMLButtonElement,
  ) {}

  show(state: ConnectionState): void {
    this.state = state;
    window.clearInterval(this.ticker);
    if (state.kind === "waiting") this.ticker = window.setInterval(() => this.render(), 250);
    this.render();
  }

  /** For a Monitor key, which has no socket: the status poll's health. */
  showPolling(ok: boolean): void {
    window.clearInterval(this.ticker);
    this.label.dataset["kind"] = ok ? "connected" : "waiting";
    this.label.textContent = ok ? "status live" : "server unreachable";
    this.reconnectButton.hidden = true;
  }

  private render(): void {
    const state = this.state;
    this.label.dataset["kind"] = state.kind;
    this.reconnectButton.hidden = state.kind !== "waiting";
    switch (state.kind) {
      case "idle":
        this.label.textContent = "not connected";
        break;
      case "connecting":
        this.label.textContent = state.attempt > 1 ? "reconnecting…" : "connecting…";
        break;
      case "connected":
        this.label.textContent = "connected";
        break;
      case "waiting": {
        const seconds = Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000));
        const what = {
          dropped: "connection lost",
          unreachable: "server unreachable",
          restarting: "vsmanager restarting",
        }[state.reason];
        this.label.textContent = `${what} · reconnecting in ${seconds} s`;
        break;
      }
      case "signed-out":
        this.label.textContent = "signed out";
        break;
      case "forbidden":
        this.label.textContent = "console not allowed for this key";
        break;
      case "closed":
        this.label.textContent = "disconnected";
        break;
    }
  }
}
