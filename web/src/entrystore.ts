// What the terminal shows, kept as data so that it can be drawn again (timestamps on/off),
// bounded like the terminal's scrollback.
import type { Entry } from "./render";

export class EntryStore {
  private items: Entry[] = [];
  private start = 0;

  constructor(private limit: number) {}

  get size(): number {
    return this.items.length - this.start;
  }

  push(entry: Entry): void {
    this.items.push(entry);
    if (this.size > this.limit) this.start += this.size - this.limit;
    // Compact now and then rather than shifting the array on every line.
    if (this.start > 4096 && this.start > this.items.length / 2) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
  }

  setLimit(limit: number): void {
    this.limit = limit;
    if (this.size > limit) this.start += this.size - limit;
  }

  clear(): void {
    this.items = [];
    this.start = 0;
  }

  *[Symbol.iterator](): Iterator<Entry> {
    for (let i = this.start; i < this.items.length; i++) yield this.items[i] as Entry;
  }
}
