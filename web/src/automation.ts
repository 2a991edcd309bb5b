// The schedules panel (list, next due, last outcome, add/edit with a live preview of the next
// due times, pause, run now) and the notification targets (last delivery, a test button).
// Admins change; a Monitor key only reads. Everything shown is set as text, never markup.
import { ApiError, type ApiClient } from "./api";

const REFRESH_MS = 5000;
const PREVIEW_DELAY_MS = 300;

interface Run { start: string; end: string | null; outcome: string | null; detail?: string }
interface Schedule {
  name: string; cron?: string; every?: string; timezone?: string; action?: string;
  commands?: string[]; warn?: string[]; announce?: string; when_players?: string; max_wait?: string;
  paused?: boolean; next?: string[]; runs?: Run[]; error?: { field: string; why: string };
}
interface Target {
  name: string; kind?: string; url?: string; events?: string[]; error?: { field: string; why: string };
  last?: { event: string; at: string; delivered: boolean; error: string | null } | null;
}

export interface AutomationElements {
  readonly details: HTMLDetailsElement;
  readonly summary: HTMLElement;
  readonly rows: HTMLElement;
  readonly message: HTMLElement;
  readonly form: HTMLFormElement;
  readonly preview: HTMLElement;
  readonly targets: HTMLElement;
}

function text(tag: string, content: string, className?: string): HTMLElement {
  const element = document.createElement(tag);
  element.textContent = content;
  if (className !== undefined) element.className = className;
  return element;
}

function button(label: string, onClick: () => void, description = label): HTMLButtonElement {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = label;
  element.setAttribute("aria-label", description);
  element.addEventListener("click", onClick);
  return element;
}

function describeWhen(s: Schedule): string {
  if (s.cron !== undefined) return `cron ${s.cron}${s.timezone === undefined ? "" : ` (${s.timezone})`}`;
  return s.every === undefined ? "" : `every ${s.every}`;
}

function shortTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
}

function messageOf(error: unknown): string {
  return error instanceof ApiError ? error.message : String(error);
}

export class AutomationPanel {
  private editing: string | null = null;
  private previewTimer: number | undefined;

  constructor(
    private readonly el: AutomationElements,
    private readonly api: ApiClient,
    private readonly admin: boolean,
  ) {
    el.form.hidden = !admin;
    el.form.addEventListener("input", () => this.schedulePreview());
    el.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.save();
    });
    el.form.querySelector<HTMLButtonElement>("[data-role=new]")?.addEventListener("click", () => this.fill(null));
    el.details.addEventListener("toggle", () => {
      if (el.details.open) void this.refresh();
    });
  }

  start(): void {
    const tick = async (): Promise<void> => {
      await this.refresh();
      window.setTimeout(() => void tick(), REFRESH_MS);
    };
    void tick();
  }

  async refresh(): Promise<void> {
    try {
      const [schedules, targets] = await Promise.all([
        this.api.call("GET", "/schedules") as Promise<{ schedules?: Schedule[]; file?: string | null }>,
        this.api.call("GET", "/notifications") as Promise<{ targets?: Target[] }>,
      ]);
      this.renderSchedules(schedules.schedules ?? [], schedules.file ?? null);
      this.renderTargets(targets.targets ?? []);
    } catch (error) {
      this.el.message.textContent = `Could not read the schedules: ${messageOf(error)}`;
    }
  }

  private renderSchedules(schedules: Schedule[], file: string | null): void {
    const count = schedules.length;
    this.el.summary.textContent = count === 0 ? "(none)" : `(${count})`;
    if (file === null) this.el.message.textContent = "No schedules file: set VS_SCHEDULES_FILE (vsmanager init makes one).";
    this.el.rows.replaceChildren(...schedules.map((s) => this.row(s)));
  }

  private row(s: Schedule): HTMLElement {
    const tr = document.createElement("tr");
    tr.dataset.schedule = s.name;
    const runs = (s.runs ?? []).filter((run) => run.outcome !== null);
    const last = runs[runs.length - 1];
    const next = s.error !== undefined ? `error: ${s.error.field}: ${s.error.why}`
      : s.paused === true ? "paused" : s.next?.[0] !== undefined ? shortTime(s.next[0]) : "—";
    tr.append(text("td", s.name), text("td", describeWhen(s)), text("td", s.action ?? ""),
      text("td", next, s.error === undefined ? undefined : "error"),
      text("td", last === undefined ? "—" : `${last.outcome ?? ""}${last.detail === undefined ? "" : ` (${last.detail})`}`));
    const actions = document.createElement("td");
    if (this.admin && s.error === undefined) {
      const verb = s.paused === true ? "resume" : "pause";
      actions.append(
        button(s.paused === true ? "Resume" : "Pause", () => void this.act(s.name, verb),
          `${s.paused === true ? "Resume" : "Pause"} ${s.name}`),
        button("Run now", () => void this.act(s.name, "run"), `Run ${s.name} now`),
        button("Edit", () => this.fill(s), `Edit ${s.name}`),
      );
    }
    tr.append(actions);
    return tr;
  }

  private renderTargets(targets: Target[]): void {
    this.el.targets.replaceChildren(...targets.map((t) => {
      const li = document.createElement("li");
      li.dataset.target = t.name;
      if (t.error !== undefined) {
        li.append(text("span", `${t.name}: error: ${t.error.field}: ${t.error.why}`, "error"));
        return li;
      }
      const last = t.last;
      const how = last === null || last === undefined ? "never sent"
        : last.delivered ? `${last.event} delivered ${shortTime(last.at)}` : `${last.event} failed: ${last.error ?? ""}`;
      li.append(text("strong", t.name), text("span", ` ${t.kind ?? ""} ${t.url ?? ""} · `), text("span", how, "last-delivery"));
      if (this.admin) li.append(button("Test", () => void this.test(t.name), `Send ${t.name} a test message`));
      return li;
    }));
    if (targets.length === 0) this.el.targets.append(text("li", "No notification targets (VS_NOTIFICATIONS_FILE)."));
  }

  private async act(name: string, verb: string): Promise<void> {
    try {
      await this.api.call("POST", `/schedules/${encodeURIComponent(name)}/${verb}`);
      this.el.message.textContent = verb === "run" ? `${name}: running now.` : `${name}: ${verb}d.`;
    } catch (error) {
      this.el.message.textContent = `${name}: ${messageOf(error)}`;
    }
    await this.refresh();
  }

  private async test(name: string): Promise<void> {
    try {
      await this.api.call("POST", `/notifications/${encodeURIComponent(name)}/test`);
      this.el.message.textContent = `Test message queued for ${name}.`;
    } catch (error) {
      this.el.message.textContent = `${name}: ${messageOf(error)}`;
    }
    window.setTimeout(() => void this.refresh(), 1000);
  }

  private field(name: string): HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement {
    const element = this.el.form.elements.namedItem(name);
    if (element === null) throw new Error(`the schedule form has no ${name}`);
    return element as HTMLInputElement;
  }

  private fill(s: Schedule | null): void {
    this.editing = s?.name ?? null;
    this.field("name").value = s?.name ?? "";
    this.field("when").value = s?.every !== undefined ? "every" : "cron";
    this.field("time").value = s?.cron ?? s?.every ?? "";
    this.field("timezone").value = s?.timezone ?? "";
    this.field("action").value = s?.action ?? "restart";
    this.field("commands").value = (s?.commands ?? []).join("\n");
    this.field("warn").value = (s?.warn ?? []).join(", ");
    this.field("when_players").value = s?.when_players ?? "ignore";
    this.field("max_wait").value = s?.max_wait ?? "";
    this.el.details.open = true;
    this.field("name").focus();
    this.schedulePreview();
  }

  /** The form as a schedule definition (empty fields left out). */
  definition(): Record<string, unknown> {
    const value = (name: string): string => this.field(name).value.trim();
    const body: Record<string, unknown> = { name: value("name"), action: value("action") };
    body[value("when") === "every" ? "every" : "cron"] = value("time");
    if (value("timezone") !== "" && value("when") === "cron") body.timezone = value("timezone");
    const commands = value("commands").split("\n").map((c) => c.trim()).filter((c) => c !== "");
    if (commands.length > 0) body.commands = commands;
    const warn = value("warn").split(",").map((w) => w.trim()).filter((w) => w !== "");
    if (warn.length > 0) body.warn = warn;
    if (value("when_players") !== "ignore") body.when_players = value("when_players");
    if (value("max_wait") !== "") body.max_wait = value("max_wait");
    return body;
  }

  private schedulePreview(): void {
    window.clearTimeout(this.previewTimer);
    this.previewTimer = window.setTimeout(() => void this.preview(), PREVIEW_DELAY_MS);
  }

  private async preview(): Promise<void> {
    const { name: _name, ...body } = this.definition();
    try {
      const answer = (await this.api.call("POST", "/schedules/preview", body)) as { next?: string[] };
      const next = answer.next ?? [];
      this.el.preview.textContent = next.length === 0 ? "Never due." : `Next: ${next.map(shortTime).join(" · ")}`;
      this.el.preview.dataset.tone = "ok";
    } catch (error) {
      this.el.preview.textContent = messageOf(error).replace(/^schedule preview: /, "");
      this.el.preview.dataset.tone = "error";
    }
  }

  private async save(): Promise<void> {
    const body = this.definition();
    const name = String(body.name);
    try {
      if (this.editing !== null && this.editing === name) {
        await this.api.call("PUT", `/schedules/${encodeURIComponent(name)}`, body);
      } else {
        await this.api.call("POST", "/schedules", body);
      }
      this.el.message.textContent = `Schedule ${name} saved.`;
      this.editing = name;
    } catch (error) {
      this.el.message.textContent = messageOf(error);
    }
    await this.refresh();
  }
}
