// After a crash: how the last run ended, whether vsmanager restarts it, and a way to read
// that run's last lines (Admin). Shown until dismissed or until another run ends.
import type { ApiClient } from "./api";
import { statusFacts, type RunInfo, type ServerStatus } from "./frames";
import { describeRestart, describeRun } from "./glance";
import { runLineParts } from "./runlines";
import { EMPTY_VOCABULARY, LineClassifier } from "./vocabulary";

const RUN_LINES = 500; // enough to see why it ended; the whole buffer is one download away

export interface LastRunElements {
  readonly banner: HTMLElement;
  readonly text: HTMLElement;
  readonly read: HTMLButtonElement;
  readonly dismiss: HTMLButtonElement;
  readonly dialog: HTMLDialogElement;
  readonly title: HTMLElement;
  readonly output: HTMLElement;
}

export class LastRunBanner {
  private status: ServerStatus | null = null;
  private dismissedRun: number | null = null;

  constructor(
    private readonly el: LastRunElements,
    private readonly api: ApiClient | null, // null: a Monitor key, which cannot read the console
    /** How game lines read (stamp, classes), and whether level colours are on. */
    private readonly reading: () => { vocabulary: LineClassifier; levels: boolean } = () => ({
      vocabulary: new LineClassifier(EMPTY_VOCABULARY),
      levels: false,
    }),
  ) {
    el.dismiss.addEventListener("click", () => {
      this.dismissedRun = this.status === null ? null : (statusFacts(this.status).lastRun?.run ?? null);
      this.render();
    });
    el.read.addEventListener("click", () => void this.read());
    el.dialog.querySelector("button")?.addEventListener("click", () => el.dialog.close());
    window.setInterval(() => this.render(), 1000); // the restart countdown
  }

  update(status: ServerStatus): void {
    this.status = status;
    this.render();
  }

  private lastRun(): RunInfo | null {
    return this.status === null ? null : statusFacts(this.status).lastRun;
  }

  private render(): void {
    const status = this.status;
    const run = this.lastRun();
    let text = "";
    if (status !== null && run !== null && run.outcome !== "stopped" && run.outcome !== null) {
      if (run.run !== this.dismissedRun) text = describeRun(run);
    } else if (status?.state === "crashed") {
      // A server without runs: the exit code is all there is to say.
      text = `The server crashed${status.exit_code === null ? "" : ` with exit code ${status.exit_code}`}.`;
    }
    if (text !== "" && status !== null && status.state === "crashed") {
      const restart = describeRestart(status, Date.now());
      if (restart !== "") text += ` ${restart}`;
    }
    this.el.banner.hidden = text === "";
    this.el.text.textContent = text;
    this.el.read.hidden = this.api === null || run === null;
    if (run !== null) this.el.read.textContent = `Show run ${run.run}'s last lines`;
  }

  private async read(): Promise<void> {
    const run = this.lastRun();
    if (run === null || this.api === null) return;
    // The run's own numbers (first/last seq) come from /console/runs, not from status.
    const runs = await this.api.runs().catch(() => null);
    const full = runs?.runs.find((r) => r.run === run.run) ?? run;
    this.el.title.textContent = `Run ${run.run}: its last lines`;
    this.el.output.textContent = "Loading…";
    this.el.dialog.showModal();
    try {
      const lines = await this.api.runLines(full, RUN_LINES);
      const { vocabulary, levels } = this.reading();
      // Game text goes in as text (textContent), never as markup: nothing in it can act
      // on the page, and only the page makes the badges.
      const rows = lines.map((line) => {
        const parts = runLineParts(line, vocabulary, levels);
        const row = document.createElement("div");
        row.className = "run-line";
        if (parts.level !== null) row.dataset["level"] = parts.level;
        const time = document.createElement("span");
        time.className = "run-time";
        time.textContent = parts.time;
        row.append(time, " ");
        if (parts.badge !== null) {
          const badge = document.createElement("span");
          badge.className = `badge badge-${parts.badge.kind}`;
          badge.textContent = parts.badge.text;
          row.append(badge, " ");
        }
        const text = document.createElement("span");
        text.className = "run-text";
        text.textContent = parts.text;
        row.append(text);
        return row;
      });
      if (rows.length === 0) this.el.output.textContent = "vsmanager no longer holds this run's lines.";
      else this.el.output.replaceChildren(...rows);
      // The run's end is why it is read: open there (the exception), not at its first line.
      this.el.output.scrollTop = this.el.output.scrollHeight;
    } catch (error) {
      this.el.output.textContent = `Could not read the run: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
}
