// The command bar's ↑/↓ history: newest last, kept per browser, bounded.

export const HISTORY_LIMIT = 100;
const STORAGE_KEY = "vsmanager.commandHistory";

/** Forgets the stored history (signing out of a device that is not remembered). */
export function forgetHistory(storage: Storage | null = safeLocalStorage()): void {
  try {
    storage?.removeItem(STORAGE_KEY);
  } catch {
    // Storage disabled: there is nothing stored to forget.
  }
}

export class CommandHistory {
  private entries: string[];
  /** Index into entries while browsing; entries.length means "the draft". */
  private cursor: number;
  private draft = "";

  constructor(
    private readonly storage: Storage | null = safeLocalStorage(),
    private readonly limit = HISTORY_LIMIT,
  ) {
    this.entries = this.load();
    this.cursor = this.entries.length;
  }

  get all(): readonly string[] {
    return this.entries;
  }

  /** Records a sent command (a repeat of the newest is not stored twice). */
  add(command: string): void {
    if (this.entries[this.entries.length - 1] !== command) {
      this.entries.push(command);
      if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
      this.save();
    }
    this.cursor = this.entries.length;
    this.draft = "";
  }

  /** The older entry to show, or null at the oldest. `current` is kept as the draft. */
  previous(current: string): string | null {
    if (this.cursor === 0) return null;
    if (this.cursor === this.entries.length) this.draft = current;
    this.cursor -= 1;
    return this.entries[this.cursor] ?? null;
  }

  /** The newer entry to show, the draft after the newest, or null when already there. */
  next(): string | null {
    if (this.cursor >= this.entries.length) return null;
    this.cursor += 1;
    return this.cursor === this.entries.length ? this.draft : (this.entries[this.cursor] ?? null);
  }

  private load(): string[] {
    try {
      const value: unknown = JSON.parse(this.storage?.getItem(STORAGE_KEY) ?? "[]");
      return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string").slice(-this.limit) : [];
    } catch {
      return []; // a corrupt entry must not break the command bar
    }
  }

  private save(): void {
    try {
      this.storage?.setItem(STORAGE_KEY, JSON.stringify(this.entries));
    } catch {
      // Storage full or disabled: history then lasts for this page only.
    }
  }
}

function safeLocalStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}
