// Reconnect delays: exponential, capped, with jitter so that many tabs dropped by one
// vsmanager restart do not all come back in the same instant.

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000, factor: 2 };

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt: half fixed, half random ("equal jitter"). */
  next(): number {
    const { initialMs, maxMs, factor } = this.options;
    const ceiling = Math.min(maxMs, initialMs * factor ** this.attempt);
    this.attempt += 1;
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }
}
