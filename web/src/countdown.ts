// The countdown banner: a schedule's action coming ("Restart in 4:59"), with Skip this one
// and Now for admins. Fed by the status frames (their `countdown`), ticking every second.
import { ApiError, type ApiClient } from "./api";

export interface Countdown {
  readonly schedule: string;
  readonly action: string;
  readonly at: string;
}

export interface CountdownElements {
  readonly banner: HTMLElement;
  readonly text: HTMLElement;
  readonly skip: HTMLButtonElement;
  readonly now: HTMLButtonElement;
}

export function countdownOf(status: unknown): Countdown | null {
  const value = (status as { countdown?: unknown } | null)?.countdown;
  if (typeof value !== "object" || value === null) return null;
  const { schedule, action, at } = value as Record<string, unknown>;
  return typeof schedule === "string" && typeof action === "string" && typeof at === "string"
    ? { schedule, action, at }
    : null;
}

/** "Restart in 4:59", "Stop in 1:02:03"; "Restart now" once the time has come. */
export function countdownText(countdown: Countdown, nowMs: number): string {
  const action = countdown.action.charAt(0).toUpperCase() + countdown.action.slice(1);
  const left = Math.max(0, Math.ceil((Date.parse(countdown.at) - nowMs) / 1000));
  if (!Number.isFinite(left) || left === 0) return `${action} now (schedule ${countdown.schedule})`;
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  const s = String(left % 60).padStart(2, "0");
  const clock = h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
  return `${action} in ${clock} (schedule ${countdown.schedule})`;
}

export class CountdownBanner {
  private countdown: Countdown | null = null;

  constructor(
    private readonly el: CountdownElements,
    private readonly api: ApiClient | null,
  ) {
    el.skip.hidden = el.now.hidden = api === null;
    el.skip.addEventListener("click", () => void this.decide("skip"));
    el.now.addEventListener("click", () => void this.decide("now"));
    window.setInterval(() => this.render(), 1000);
  }

  update(status: unknown): void {
    this.countdown = countdownOf(status);
    this.render();
  }

  private render(): void {
    const countdown = this.countdown;
    this.el.banner.hidden = countdown === null;
    if (countdown !== null) this.el.text.textContent = countdownText(countdown, Date.now());
  }

  private async decide(choice: "skip" | "now"): Promise<void> {
    const countdown = this.countdown;
    if (countdown === null || this.api === null) return;
    try {
      await this.api.call("POST", `/schedules/${encodeURIComponent(countdown.schedule)}/${choice}`);
    } catch (error) {
      this.el.text.textContent = `Could not ${choice === "skip" ? "skip" : "act now"}: ${error instanceof ApiError ? error.message : String(error)}`;
    }
  }
}
