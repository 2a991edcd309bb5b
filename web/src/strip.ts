// The resource strip: the server at a glance. Version, players (a name goes into the command
// bar on click), how the last run ended, the restart state, and live charts of CPU, memory,
// players and console lines per second over the last hour. It folds away (kept per browser).
import { ApiError, type ApiClient } from "./api";
import { SparkChart, type RunEnd } from "./charts";
import { statusFacts, type RunInfo, type ServerStatus } from "./frames";
import { summarize } from "./glance";
import { MetricsSeries } from "./metrics";
import { escapePlain } from "./sanitize";

const OPEN_KEY = "vsmanager.stripOpen";
const MIN_POLL_MS = 2000;
const RETRY_MS = 10_000;
// After the game starts or ends, ask for its first (or last) sample this soon: vsmanager
// samples at once when the game's process comes or goes.
const SOON_MS = 700;

export interface StripElements {
  readonly strip: HTMLElement;
  readonly toggle: HTMLButtonElement;
  readonly summary: HTMLElement;
  readonly body: HTMLElement;
  readonly charts: HTMLElement;
  readonly cpu: HTMLElement;
  readonly memory: HTMLElement;
  readonly players: HTMLElement;
  readonly lines: HTMLElement;
  readonly playerCount: HTMLElement;
  readonly playerList: HTMLElement;
  readonly playerSection: HTMLElement;
}

function formatBytes(bytes: number | null): string {
  if (bytes === null) return "–";
  const mib = bytes / 1024 / 1024;
  return mib >= 1024 ? `${(mib / 1024).toFixed(1)} GiB` : `${Math.round(mib)} MiB`;
}

function formatNumber(value: number | null, unit = ""): string {
  if (value === null) return "–";
  const text = Number.isInteger(value) || value >= 100 ? Math.round(value).toLocaleString("en") : value.toFixed(value >= 10 ? 0 : 1);
  return unit === "" ? text : `${text} ${unit}`;
}

function loadOpen(): boolean {
  try {
    const saved = localStorage.getItem(OPEN_KEY);
    if (saved !== null) return saved === "true";
  } catch {
    // Storage disabled: use the default.
  }
  return window.innerWidth > 600; // on a phone the console gets the screen first
}

export class ResourceStrip {
  private readonly series = new MetricsSeries();
  private readonly charts: { cpu: SparkChart; memory: SparkChart; players: SparkChart; lines: SparkChart };
  private status: ServerStatus | null = null;
  private open: boolean;
  private timer: number | undefined;
  private playersShown = "";
  private pid: number | null | undefined = undefined;
  private readonly ends = new Map<number, RunEnd>();
  polls = 0;

  constructor(
    private readonly el: StripElements,
    private readonly api: ApiClient,
    /** Puts a player's name in the command bar; null for a Monitor key (no commands). */
    private readonly onPlayer: ((name: string) => void) | null,
  ) {
    // Hidden until there is something to show: a vsmanager without metrics or game facts
    // (an older one) keeps the page as it was.
    el.strip.hidden = true;
    el.charts.hidden = true;
    el.playerSection.hidden = true;
    // Without a console (a Monitor key) the charts are the page: always shown, and taller.
    const monitor = onPlayer === null;
    this.open = monitor || loadOpen();
    el.toggle.hidden = monitor;
    // On a phone, unfolded charts share the screen with the console: keep them low.
    const height = monitor ? 180 : window.innerWidth <= 600 ? 64 : 96;
    this.charts = {
      cpu: new SparkChart(el.cpu, { label: "Game CPU", format: (v) => formatNumber(v, "%"), minMax: 5, height, markers: true }),
      memory: new SparkChart(el.memory, { label: "Game memory", format: (v) => formatBytes(v), minMax: 64 * 1024 * 1024, height, markers: true }),
      players: new SparkChart(el.players, { label: "Players", format: (v) => formatNumber(v), minMax: 2, height, integer: true }),
      lines: new SparkChart(el.lines, { label: "Console lines/s", format: (v) => formatNumber(v), minMax: 5, height }),
    };
    el.toggle.addEventListener("click", () => this.setOpen(!this.open));
    this.setOpen(this.open, false);
    window.setInterval(() => this.renderSummary(), 1000); // the restart countdown
  }

  start(): void {
    void this.poll();
  }

  update(status: ServerStatus): void {
    this.status = status;
    const facts = statusFacts(status);
    if (facts.lastRun !== null) this.learnRuns([facts.lastRun]);
    // A game that starts or ends is sampled at once by vsmanager: show that sample now
    // rather than at the next poll.
    if (this.pid !== undefined && status.pid !== this.pid) this.pollSoon();
    this.pid = status.pid;
    this.renderSummary();
    this.renderPlayers();
    if (this.open) this.draw();
  }

  /** Runs that ended (from /console/runs or the status): markers on the CPU and memory charts. */
  learnRuns(runs: readonly RunInfo[]): void {
    let changed = false;
    for (const run of runs) {
      if (run.ended_at === null || run.outcome === null || this.ends.has(run.run)) continue;
      const t = Date.parse(run.ended_at) / 1000;
      if (!Number.isFinite(t)) continue;
      this.ends.set(run.run, { t, run: run.run, outcome: run.outcome });
      changed = true;
    }
    if (!changed) return;
    const ends = [...this.ends.values()];
    this.charts.cpu.setRunEnds(ends);
    this.charts.memory.setRunEnds(ends);
    if (this.open) this.draw();
  }

  /** The number of samples drawn (for the browser tests). */
  get samples(): number {
    return this.charts.cpu.points;
  }

  /** The CPU chart's axis labels at its last draw (for the browser tests). */
  get axes(): { time: readonly string[]; value: readonly string[] } {
    return this.charts.cpu.axisLabels;
  }

  /** The run ends marked on the CPU chart at its last draw (for the browser tests). */
  get markers(): readonly RunEnd[] {
    return this.charts.cpu.drawnMarkers;
  }

  /** The Players chart's newest point and the value beside it (for the browser tests). */
  get playersShownOnChart(): { point: number | null; value: string } {
    const values = this.playerValues();
    return { point: values.values[values.values.length - 1] ?? null, value: this.el.players.querySelector(".spark-value")?.textContent ?? "" };
  }

  private setOpen(open: boolean, save = true): void {
    this.open = open;
    this.el.body.hidden = !open;
    this.el.toggle.setAttribute("aria-expanded", String(open));
    this.el.toggle.textContent = open ? "Hide details" : "Show details";
    if (save) {
      try {
        localStorage.setItem(OPEN_KEY, String(open));
      } catch {
        // Storage disabled: the choice lasts for this page.
      }
    }
    if (open) this.draw();
    // The terminal below refits itself (it observes its own size).
  }

  private pollSoon(): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.poll(), SOON_MS);
  }

  private async poll(): Promise<void> {
    window.clearTimeout(this.timer);
    let delay = RETRY_MS;
    try {
      const page = await this.api.metrics(this.series.newest);
      this.polls += 1;
      this.series.add(page.samples);
      this.el.charts.hidden = false;
      this.el.strip.hidden = false;
      if (this.open) this.draw();
      delay = Math.max(MIN_POLL_MS, page.interval_s * 1000);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        return; // a vsmanager without metrics: no charts, and nothing to poll

      }
    }
    this.timer = window.setTimeout(() => void this.poll(), delay);
  }

  stop(): void {
    window.clearTimeout(this.timer);
  }

  private draw(): void {
    const times = this.series.times();
    this.charts.cpu.setData(times, this.series.values((s) => s.game_cpu_percent));
    this.charts.memory.setData(times, this.series.values((s) => s.game_rss_bytes));
    const players = this.playerValues();
    this.charts.players.setData(players.times, players.values);
    this.charts.lines.setData(times, this.series.values((s) => s.lines_per_second));
  }

  /**
   * The players over the hour, ending with the count the player list shows: one source (the
   * status) for the list, its count and the chart's newest point, at the same moment.
   */
  private playerValues(): { times: number[]; values: (number | null)[] } {
    const times = this.series.times();
    const values: (number | null)[] = this.series.values((s) => s.players_online);
    const game = this.status === null ? null : statusFacts(this.status).game;
    if (game !== null) {
      const now = Date.now() / 1000;
      const newest = times[times.length - 1];
      if (newest === undefined || now > newest) {
        times.push(now);
        values.push(game.players_online);
      } else {
        values[values.length - 1] = game.players_online;
      }
    }
    return { times, values };
  }

  private renderSummary(): void {
    if (this.status === null) return;
    const text = summarize(this.status, Date.now());
    this.el.summary.textContent = text;
    if (text !== "") this.el.strip.hidden = false;
  }

  private renderPlayers(): void {
    const game = this.status === null ? null : statusFacts(this.status).game;
    const names = game?.players ?? [];
    const key = JSON.stringify(names);
    if (game !== null) {
      this.el.playerSection.hidden = false;
      this.el.strip.hidden = false;
    }
    if (key === this.playersShown) return; // keep focus and hover on an unchanged list
    this.playersShown = key;
    this.el.playerCount.textContent = game === null ? "" : `(${game.players_online})`;
    const items = names.map((name) => {
      const item = document.createElement("li");
      if (this.onPlayer === null) {
        item.textContent = escapePlain(name);
      } else {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "player";
        button.textContent = escapePlain(name);
        button.title = `Actions for ${escapePlain(name)}`;
        button.setAttribute("aria-haspopup", "dialog");
        button.addEventListener("click", () => this.onPlayer?.(name));
        item.append(button);
      }
      return item;
    });
    if (items.length === 0) {
      const empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = "Nobody is online.";
      items.push(empty);
    }
    this.el.playerList.replaceChildren(...items);
  }
}
