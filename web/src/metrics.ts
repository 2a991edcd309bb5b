// The resource series the strip draws: samples from GET /server/metrics, polled with
// ?since=<newest t>, kept for the last hour. Pure apart from the fetch it is given.
import type { MetricsSample } from "./frames";

export const WINDOW_S = 3600;

export class MetricsSeries {
  private samples: MetricsSample[] = [];

  /** Adds the samples newer than the newest held; drops those older than the window. */
  add(samples: readonly MetricsSample[]): void {
    const newest = this.newest;
    for (const sample of samples) if (newest === null || sample.t > newest) this.samples.push(sample);
    const horizon = (this.newest ?? 0) - WINDOW_S;
    const first = this.samples.findIndex((s) => s.t >= horizon);
    if (first > 0) this.samples.splice(0, first);
  }

  clear(): void {
    this.samples = [];
  }

  get newest(): number | null {
    return this.samples[this.samples.length - 1]?.t ?? null;
  }

  get latest(): MetricsSample | null {
    return this.samples[this.samples.length - 1] ?? null;
  }

  get length(): number {
    return this.samples.length;
  }

  times(): number[] {
    return this.samples.map((s) => s.t);
  }

  values(pick: (sample: MetricsSample) => number | null): (number | null)[] {
    return this.samples.map(pick);
  }
}
