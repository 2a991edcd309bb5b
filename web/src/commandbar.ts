// The command bar: Enter sends, ↑/↓ walk the history, Tab completes, "/stop" is confirmed.
import { candidates, commonPrefix } from "./completion";
import { confirmAction } from "./confirm";
import type { CommandHistory } from "./history";

export interface CommandBarElements {
  readonly form: HTMLFormElement;
  readonly input: HTMLInputElement;
  readonly button: HTMLButtonElement;
  readonly hint: HTMLElement;
}

/** Sends one command; rejects with an Error whose message is the server's reason. */
export type SendCommand = (command: string) => Promise<void>;

interface CompletionCycle {
  readonly list: readonly string[];
  index: number;
}

export class CommandBar {
  private cycle: CompletionCycle | null = null;
  // Commands go out one after another, in the order typed, without blocking the next one.
  private queue: Promise<void> = Promise.resolve();
  private unavailable: string | null = "Not connected yet.";

  constructor(
    private readonly el: CommandBarElements,
    private readonly history: CommandHistory,
    private readonly send: SendCommand,
    private readonly onRefused: (command: string, reason: string) => void,
  ) {
    el.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.submit();
    });
    el.input.addEventListener("keydown", (event) => this.onKey(event));
    el.input.addEventListener("input", () => {
      this.cycle = null;
      // A completion list is about what was typed: an emptied bar has nothing to complete.
      if (el.input.value === "" && this.unavailable === null && el.hint.dataset["tone"] === "info") this.showHint("", "info");
    });
    this.render();
  }

  /** Null enables the bar; a reason disables it and is shown to the user. */
  setUnavailable(reason: string | null): void {
    if (reason === this.unavailable) return;
    this.unavailable = reason;
    this.render();
  }

  focus(): void {
    this.el.input.focus();
  }

  /** Sends a command composed elsewhere (a player action), in turn with the typed ones. */
  async run(command: string): Promise<void> {
    if (this.unavailable !== null) throw new Error(this.unavailable);
    this.queue = this.queue.then(() => this.deliver(command));
    await this.queue;
  }

  get isAvailable(): boolean {
    return this.unavailable === null;
  }

  /** Adds text (a player's name) at the end of what is typed, and focuses the bar. */
  insert(text: string): void {
    const value = this.el.input.value;
    this.setValue(value === "" || value.endsWith(" ") ? value + text : `${value} ${text}`);
    this.cycle = null;
    this.el.input.focus();
  }

  private render(): void {
    const disabled = this.unavailable !== null;
    this.el.input.disabled = disabled;
    this.el.button.disabled = disabled;
    // The reason is said once, under the bar (a live region), not again in the field.
    this.el.input.placeholder = disabled ? "" : "Type a command, e.g. /help";
    if (disabled) this.showHint(this.unavailable ?? "", "info");
    else if (this.el.hint.dataset["tone"] === "info") this.showHint("", "info");
    // A disabled input drops the focus; give it back when nothing else has claimed it.
    const active = document.activeElement;
    if (!disabled && (active === null || active === document.body)) this.el.input.focus();
  }

  private showHint(text: string, tone: "info" | "error"): void {
    this.el.hint.textContent = text;
    this.el.hint.dataset["tone"] = tone;
    this.el.hint.setAttribute("role", tone === "error" ? "alert" : "status");
  }

  private async submit(): Promise<void> {
    const command = this.el.input.value.trim();
    if (command === "" || this.unavailable !== null) return;
    if (command.split(/\s/, 1)[0]?.toLowerCase() === "/stop") {
      const confirmed = await confirmAction({
        title: "Stop the game server?",
        text: "/stop saves the world and shuts the server down; players are disconnected.",
        confirmLabel: "Send /stop",
      });
      if (!confirmed) return;
    }
    this.history.add(command);
    this.el.input.value = "";
    this.cycle = null;
    this.showHint("", "info");
    this.el.input.focus();
    this.queue = this.queue.then(() => this.deliver(command));
    await this.queue;
  }

  private async deliver(command: string): Promise<void> {
    try {
      await this.send(command);
      if (this.el.hint.dataset["tone"] === "error") this.showHint("", "info");
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.showHint(`Refused: ${reason}`, "error");
      this.onRefused(command, reason);
    }
  }

  private onKey(event: KeyboardEvent): void {
    const input = this.el.input;
    if (event.key === "ArrowUp" && !event.altKey) {
      const value = this.history.previous(input.value);
      if (value !== null) this.setValue(value);
      event.preventDefault();
    } else if (event.key === "ArrowDown" && !event.altKey) {
      const value = this.history.next();
      if (value !== null) this.setValue(value);
      event.preventDefault();
    } else if (event.key === "Tab" && !event.shiftKey && !event.ctrlKey && !event.altKey) {
      // Only take Tab when there is something to complete, so keyboard users can still
      // Tab out of an empty bar.
      if (input.value !== "" && this.complete()) event.preventDefault();
    } else if (event.key === "Escape" && this.cycle !== null) {
      this.cycle = null;
      this.showHint("", "info");
    }
  }

  /** Completes the input; false when nothing matched. */
  private complete(): boolean {
    if (this.cycle !== null) {
      this.cycle.index = (this.cycle.index + 1) % this.cycle.list.length;
      this.setValue(this.cycle.list[this.cycle.index] ?? "");
      return true;
    }
    const value = this.el.input.value;
    const list = candidates(value, this.history.all);
    if (list.length === 0) return false;
    if (list.length === 1) {
      this.setValue(list[0] ?? value);
      return true;
    }
    const prefix = commonPrefix(list);
    if (prefix.length > value.length) {
      this.setValue(prefix);
    } else {
      this.cycle = { list, index: 0 };
      this.setValue(list[0] ?? value);
    }
    this.showHint(list.slice(0, 8).join("   ") + (list.length > 8 ? "   …" : ""), "info");
    return true;
  }

  private setValue(value: string): void {
    this.el.input.value = value;
    this.el.input.setSelectionRange(value.length, value.length);
  }
}
