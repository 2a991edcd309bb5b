// The console view: an xterm.js terminal fed in batches, at most one write per animation
// frame (fewer while the console is busy, see writequeue.ts) and never more than one write
// in flight, so heavy output cannot starve the page.
import { Terminal, type IBufferCell } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { SearchAddon } from "@xterm/addon-search";
import { WebLinksAddon } from "@xterm/addon-web-links";
import type { ConsoleLine, Gap } from "./frames";
import { EntryStore } from "./entrystore";
import type { Entry } from "./render";
import { TERMINAL_THEMES, type ThemeName } from "./themes";
import type { LineClassifier } from "./vocabulary";
import { WriteQueue, writeDelay } from "./writequeue";

export interface ViewOptions {
  readonly fontSize: number;
  readonly theme: ThemeName;
  readonly scrollback: number;
  readonly timestamps: boolean;
  readonly screenReader: boolean;
}

export interface CellStyle {
  readonly fgPalette: number | null;
  readonly bold: boolean;
  readonly inverse: boolean;
  readonly underline: boolean;
  readonly italic: boolean;
  readonly bgPalette: number | null;
}

export class ConsoleView {
  readonly term: Terminal;
  readonly search: SearchAddon;
  private readonly fitAddon = new FitAddon();
  private readonly store: EntryStore;
  private readonly pending: WriteQueue;
  /** A write is scheduled (an animation frame, or a busy console's pause before one). */
  private frameRequested = false;
  private writing = false;
  /** Clear the terminal before the next batch (a redraw or a reset is pending). */
  private clearFirst = false;
  private timestamps: boolean;
  private following = true;
  /** Level colours for game lines; null when the switch is off or nothing is known. */
  private levels: LineClassifier | null = null;
  /** Called when the view leaves or reaches the newest line (for "jump to latest"). */
  onFollowChange: (following: boolean) => void = () => {};
  linesWritten = 0;

  constructor(
    private readonly container: HTMLElement,
    options: ViewOptions,
  ) {
    this.timestamps = options.timestamps;
    this.store = new EntryStore(options.scrollback);
    this.pending = new WriteQueue(options.scrollback);
    this.term = new Terminal({
      disableStdin: true, // commands go through the command bar, never raw keystrokes
      convertEol: false,
      cursorBlink: false,
      cursorInactiveStyle: "none",
      cursorStyle: "bar",
      fontFamily: 'ui-monospace, "Cascadia Mono", "DejaVu Sans Mono", Menlo, Consolas, monospace',
      fontSize: options.fontSize,
      scrollback: options.scrollback,
      theme: TERMINAL_THEMES[options.theme],
      screenReaderMode: options.screenReader,
      allowProposedApi: true, // search decorations (match highlighting and count)
      overviewRuler: { width: 10 },
    });
    this.search = new SearchAddon({ highlightLimit: 2000 });
    this.term.loadAddon(this.fitAddon);
    this.term.loadAddon(this.search);
    this.term.loadAddon(new WebLinksAddon());
    this.term.open(container);
    this.term.textarea?.setAttribute("aria-label", "Server console output (read only)");
    this.term.onScroll(() => this.checkFollowing());
    this.term.element?.addEventListener("wheel", () => this.checkFollowing(), { passive: true });
    new ResizeObserver(() => this.fit()).observe(container);
    this.fit();
  }

  appendLines(lines: readonly ConsoleLine[]): void {
    for (const line of lines) {
      const entry: Entry = { kind: "line", line };
      this.store.push(entry);
      this.pending.push(entry);
    }
    this.schedule();
  }

  appendGap(gap: Gap): void {
    this.add({ kind: "gap", gap });
  }

  appendNote(text: string, tone: "info" | "error" = "info"): void {
    this.add({ kind: "note", text, tone });
  }

  /** A band marking where a run of the game begins (or how it ended). */
  appendRunMark(text: string): void {
    this.add({ kind: "run", text });
  }

  /** Forget everything shown, then show a note saying why. */
  reset(note: string): void {
    this.store.clear();
    this.pending.clear();
    this.clearFirst = true;
    this.appendNote(note);
  }

  setTimestamps(on: boolean): void {
    this.timestamps = on;
    this.redraw();
  }

  setLevels(levels: LineClassifier | null): void {
    this.levels = levels;
    this.redraw();
  }

  setScrollback(lines: number): void {
    this.store.setLimit(lines);
    this.pending.setLimit(lines);
    this.term.options.scrollback = lines;
  }

  setFontSize(px: number): void {
    this.term.options.fontSize = px;
    this.fit();
  }

  setTheme(theme: ThemeName): void {
    this.term.options.theme = TERMINAL_THEMES[theme];
  }

  setScreenReader(on: boolean): void {
    this.term.options.screenReaderMode = on;
  }

  /** True while the view shows the newest line (it follows new output). */
  get isFollowing(): boolean {
    return this.following;
  }

  jumpToLatest(): void {
    this.term.scrollToBottom();
    this.checkFollowing();
  }

  copySelection(): string {
    return this.term.getSelection();
  }

  focus(): void {
    this.term.focus();
  }

  fit(): void {
    // Hidden (display: none) containers measure 0: fitting then would shrink the terminal
    // to one column.
    if (this.container.clientWidth === 0 || this.container.clientHeight === 0) return;
    this.fitAddon.fit();
  }

  /** True when every accepted entry has been parsed by the terminal. */
  get idle(): boolean {
    return this.pending.size === 0 && !this.writing;
  }

  /** Seqs of the lines kept for display, oldest first (for tests and diagnostics). */
  keptSeqs(): number[] {
    const seqs: number[] = [];
    for (const entry of this.store) if (entry.kind === "line") seqs.push(entry.line.seq);
    return seqs;
  }

  /** The terminal's buffer as text, one string per row (wrapped rows joined). */
  bufferText(): string[] {
    const buffer = this.term.buffer.active;
    const rows: string[] = [];
    for (let y = 0; y < buffer.length; y++) {
      const line = buffer.getLine(y);
      if (line === undefined) continue;
      const text = line.translateToString(true);
      if (line.isWrapped && rows.length > 0) rows[rows.length - 1] += text;
      else rows.push(text);
    }
    while (rows.length > 0 && rows[rows.length - 1] === "") rows.pop();
    return rows;
  }

  /** The rows on screen now, as text (for the browser tests: what the reader sees). */
  viewportText(): string[] {
    const buffer = this.term.buffer.active;
    const rows: string[] = [];
    for (let y = buffer.viewportY; y < buffer.viewportY + this.term.rows; y++) {
      rows.push(buffer.getLine(y)?.translateToString(true) ?? "");
    }
    return rows;
  }

  /** The row the selection (a search match) starts on, as text; null without one. */
  selectedRowText(): string | null {
    const position = this.term.getSelectionPosition();
    if (position === undefined) return null;
    return this.term.buffer.active.getLine(position.start.y)?.translateToString(true) ?? null;
  }

  /** Colour and weight of the first non-blank cell of the newest row containing `needle`. */
  styleOf(needle: string): CellStyle | null {
    const buffer = this.term.buffer.active;
    for (let y = buffer.length - 1; y >= 0; y--) {
      const line = buffer.getLine(y);
      const text = line?.translateToString(true) ?? "";
      const x = text.indexOf(needle);
      if (line === undefined || x < 0) continue;
      const cell: IBufferCell | undefined = line.getCell(x);
      if (cell === undefined) return null;
      return {
        fgPalette: cell.isFgPalette() ? cell.getFgColor() : null,
        bold: cell.isBold() !== 0,
        inverse: cell.isInverse() !== 0,
        underline: cell.isUnderline() !== 0,
        italic: cell.isItalic() !== 0,
        bgPalette: cell.isBgPalette() ? cell.getBgColor() : null,
      };
    }
    return null;
  }

  private add(entry: Entry): void {
    this.store.push(entry);
    this.pending.push(entry);
    this.schedule();
  }

  private redraw(): void {
    this.pending.replace(this.store);
    this.clearFirst = true;
    this.schedule();
  }

  private schedule(delay = 0): void {
    if (this.frameRequested || this.writing) return;
    this.frameRequested = true;
    if (delay > 0) window.setTimeout(() => requestAnimationFrame(() => this.flush()), delay);
    else requestAnimationFrame(() => this.flush());
  }

  private flush(): void {
    this.frameRequested = false;
    if (this.writing || (this.pending.size === 0 && !this.clearFirst)) return;
    // Rendered here, once per write, with the settings of the moment (a redraw requeues).
    const batch = this.pending.take(this.timestamps, this.levels);
    this.writing = true;
    // The clear goes through the same write queue as the lines ("ESC c", a full reset), so a
    // batch still being parsed cannot land after it and show its lines twice.
    const clear = this.clearFirst ? "\x1bc" : "";
    this.clearFirst = false;
    this.term.write(clear + batch.text, () => {
      this.writing = false;
      this.linesWritten += batch.count;
      this.checkFollowing();
      if (this.pending.size > 0) this.schedule(writeDelay(batch.count, this.term.rows));
    });
  }

  private checkFollowing(): void {
    const buffer = this.term.buffer.active;
    const following = buffer.viewportY >= buffer.baseY;
    if (following !== this.following) {
      this.following = following;
      this.onFollowChange(following);
    }
  }
}
