// A player's actions (Admin): clicking a name offers the game profile's commands (kick,
// ban, op, whitelist, message), each shown in full and confirmed before it is sent as an
// admin command, like one typed in the bar. A Monitor page has no menu at all.
import { actionCommand, type PlayerAction } from "./vocabulary";

export interface PlayerMenuElements {
  readonly dialog: HTMLDialogElement;
  readonly title: HTMLElement;
  readonly actions: HTMLElement;
  readonly confirm: HTMLFormElement;
  readonly explain: HTMLElement;
  readonly textLabel: HTMLElement;
  readonly text: HTMLInputElement;
  readonly command: HTMLElement;
  readonly error: HTMLElement;
  readonly cancel: HTMLButtonElement;
  readonly send: HTMLButtonElement;
}

export interface PlayerMenuHooks {
  /** The commands the game profile offers (empty from an older server). */
  readonly actions: () => readonly PlayerAction[];
  /** Why commands cannot be sent now, or null when they can. */
  readonly unavailable: () => string | null;
  /** Sends one command as the admin (resolves once it was sent or refused). */
  readonly send: (command: string) => Promise<void>;
  /** Puts the name in the command bar (the menu's plain choice). */
  readonly insert: (name: string) => void;
}

export class PlayerMenu {
  private player = "";
  private chosen: PlayerAction | null = null;

  constructor(
    private readonly el: PlayerMenuElements,
    private readonly hooks: PlayerMenuHooks,
  ) {
    el.cancel.addEventListener("click", () => el.dialog.close());
    el.text.addEventListener("input", () => this.renderCommand());
    el.confirm.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.sendChosen();
    });
    el.send.addEventListener("click", () => void this.sendChosen());
  }

  open(name: string): void {
    this.player = name;
    this.chosen = null;
    this.el.title.textContent = name;
    this.el.confirm.hidden = true;
    this.el.send.hidden = true;
    this.el.error.textContent = this.hooks.unavailable() ?? "";
    const disabled = this.hooks.unavailable() !== null;
    const buttons = this.hooks.actions().map((action) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = action.label;
      button.dataset["action"] = action.action;
      button.disabled = disabled;
      button.addEventListener("click", () => this.choose(action));
      return button;
    });
    const insert = document.createElement("button");
    insert.type = "button";
    insert.textContent = "Put in command bar";
    insert.dataset["action"] = "insert";
    insert.disabled = disabled;
    insert.addEventListener("click", () => {
      this.el.dialog.close();
      this.hooks.insert(name);
    });
    this.el.actions.replaceChildren(...buttons, insert);
    this.el.actions.hidden = false;
    this.el.dialog.showModal();
    this.el.cancel.focus(); // nothing happens on a stray Enter
  }

  private choose(action: PlayerAction): void {
    this.chosen = action;
    this.el.actions.hidden = true;
    this.el.title.textContent = `${action.label} ${this.player}?`;
    this.el.explain.textContent = action.explain;
    this.el.textLabel.hidden = action.text === null;
    this.el.text.hidden = action.text === null;
    this.el.textLabel.textContent = action.text === null ? "" : `${action.text}${action.text_required ? "" : " (optional)"}`;
    this.el.text.value = "";
    this.el.send.textContent = `${action.label} ${this.player}`;
    this.el.confirm.hidden = false;
    this.el.send.hidden = false;
    this.renderCommand();
    if (action.text === null) this.el.cancel.focus();
    else this.el.text.focus();
  }

  private renderCommand(): void {
    const action = this.chosen;
    if (action === null) return;
    this.el.command.textContent = actionCommand(action, this.player, this.el.text.value);
    this.el.send.disabled = action.text_required && this.el.text.value.trim() === "";
  }

  private async sendChosen(): Promise<void> {
    const action = this.chosen;
    if (action === null || this.el.send.disabled) return;
    const reason = this.hooks.unavailable();
    if (reason !== null) {
      this.el.error.textContent = reason;
      return;
    }
    const command = actionCommand(action, this.player, this.el.text.value);
    this.el.dialog.close();
    // A refusal is told where every command's is: under the bar and in the console.
    await this.hooks.send(command);
  }
}
