// What the terminal is still to be written: entries (not text) queued as they arrive and
// rendered together once per write, so the per-line work of a busy second (the colour filter,
// level colours, timestamps) is done in one pass per animation frame, and never for lines
// that would scroll out before they are drawn. Pure: no DOM, no terminal.
import { renderEntry, type Entry } from "./render";
import type { LineClassifier } from "./vocabulary";

/**
 * While the console is busy (a write filled the whole screen), writes this far apart: a
 * reader cannot follow a screen a frame, and each write costs the browser a full redraw of
 * the terminal's rows; lines are never dropped for it, only drawn a few frames later.
 */
export const BUSY_WRITE_INTERVAL_MS = 50;

export class WriteQueue {
  private entries: Entry[] = [];

  constructor(private limit: number) {}

  get size(): number {
    return this.entries.length;
  }

  push(entry: Entry): void {
    this.entries.push(entry);
    // Entries beyond the scrollback would scroll out of the terminal at once: when the page
    // cannot draw (a hidden tab gets no animation frames) drop them instead of piling up.
    // Trimmed in steps, not per entry, so a long wait costs no shift per line.
    if (this.entries.length > 2 * this.limit) this.entries = this.entries.slice(-this.limit);
  }

  /** Forget what is queued and queue these instead (a redraw). */
  replace(entries: Iterable<Entry>): void {
    this.entries = [...entries];
    if (this.entries.length > this.limit) this.entries = this.entries.slice(-this.limit);
  }

  setLimit(limit: number): void {
    this.limit = limit;
  }

  clear(): void {
    this.entries = [];
  }

  /** Everything queued, as one text for one write (the newest `limit` entries), and how many. */
  take(timestamps: boolean, levels: LineClassifier | null): { text: string; count: number } {
    const batch = this.entries.length > this.limit ? this.entries.slice(-this.limit) : this.entries;
    this.entries = [];
    let text = "";
    for (const entry of batch) text += renderEntry(entry, timestamps, levels) + "\r\n";
    return { text, count: batch.length };
  }
}

/** How long to wait before the next write, given how many lines the last one carried. */
export function writeDelay(lastCount: number, rows: number): number {
  return lastCount > rows ? BUSY_WRITE_INTERVAL_MS : 0;
}
