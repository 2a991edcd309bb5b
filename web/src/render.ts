// How one console entry becomes terminal text: colours per stream, [CMD] prefix, optional
// timestamp, and the game's own ANSI colours kept. Pure: no DOM, no terminal.
import type { ConsoleLine, Gap } from "./frames";
import { escapePlain, sanitize } from "./sanitize";
import type { LineClass, LineClassifier } from "./vocabulary";

export type Entry =
  | { readonly kind: "line"; readonly line: ConsoleLine }
  | { readonly kind: "gap"; readonly gap: Gap }
  | { readonly kind: "note"; readonly text: string; readonly tone: "info" | "error" }
  | { readonly kind: "run"; readonly text: string };

const RESET = "\x1b[0m";
// Palette colours, not RGB, so that a theme switch recolours what is already on screen.
// vsmanager's own marks use bold and backgrounds (inverse), which game text cannot produce
// (sanitize.ts keeps only its foreground colours): a game line cannot forge them.
const STYLE = {
  stderr: "\x1b[31m", // red, like the game's own colours: stderr is game text too
  system: "\x1b[36m", // cyan
  systemBadge: "\x1b[1;7;36m", // bold, inverse cyan
  command: "\x1b[1;35m", // bold magenta
  commandBadge: "\x1b[1;7;35m", // bold, inverse magenta
  timestamp: "\x1b[90m", // bright black
  gap: "\x1b[1;30;43m", // bold black on yellow
  info: "\x1b[1;33m", // bold yellow
  error: "\x1b[1;31m", // bold red
  run: "\x1b[1;7;34m", // bold, inverse blue: where a run of the game begins
} as const;

// Level colours for the game's own lines: foreground and italics only, never the bold or
// the backgrounds of vsmanager's marks. Palette colours, so a theme switch recolours them.
export const LEVEL_STYLE: Readonly<Record<LineClass, string>> = {
  warning: "\x1b[33m", // yellow
  error: "\x1b[31m", // red
  trace: "\x1b[3;31m", // red italics: the lines of an exception
  chat: "\x1b[32m", // green
  event: "\x1b[34m", // blue
};

const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

/** A line's receive time in the browser's time zone, e.g. "14:03:59". */
export function formatTime(ts: string): string {
  const date = new Date(ts);
  return Number.isNaN(date.getTime()) ? "--:--:--" : timeFormat.format(date);
}

export function gapText(gap: Gap): string {
  const lines = gap.count === 1 ? "line" : "lines";
  return `— ${gap.count.toLocaleString("en")} ${lines} skipped —`;
}

/** One entry as terminal text, without the line ending. */
export function renderEntry(entry: Entry, timestamps: boolean, levels: LineClassifier | null = null): string {
  switch (entry.kind) {
    case "gap":
      return `${STYLE.gap} ${gapText(entry.gap)} ${RESET}`;
    case "note":
      return `${STYLE[entry.tone]}${sanitize(entry.text)}${RESET}`;
    case "run":
      return `${STYLE.run} ${sanitize(entry.text)} ${RESET}`;
    case "line": {
      const { line } = entry;
      const stamp = timestamps ? `${STYLE.timestamp}${formatTime(line.ts)}${RESET} ` : "";
      return `${stamp}${streamStyle(line, levels)}${RESET}`;
    }
  }
}

/** The command echo's mark: [CMD], or [CMD alice] when the server names the key. */
export function commandLabel(line: ConsoleLine): string {
  return line.by === undefined || line.by === "" ? "[CMD]" : `[CMD ${line.by}]`;
}

/**
 * The level colour a game line starts with ("" for none): the page's per-line work for
 * level colours, one regex test per class at most, and nothing when the switch is off.
 */
export function levelStyle(text: string, levels: LineClassifier | null): string {
  if (levels === null) return "";
  const found = levels.classify(text);
  return found === null ? "" : LEVEL_STYLE[found];
}

function streamStyle(line: ConsoleLine, levels: LineClassifier | null): string {
  const text = sanitize(line.text);
  switch (line.stream) {
    case "stdout":
      return levelStyle(line.text, levels) + text;
    case "stderr":
      return `${STYLE.stderr}${text}`;
    case "system":
      return `${STYLE.systemBadge}[vsmanager]${RESET} ${STYLE.system}${text}`;
    case "command":
      return `${STYLE.commandBadge}${sanitize(commandLabel(line))}${RESET} ${STYLE.command}${text}`;
  }
}

/**
 * One line of a downloaded .log file: plain text, no colour, every control character shown
 * escaped (`\x1b[2J`, `\u202e`) like the terminal client, so the file cannot act on
 * whatever later displays it.
 */
export function plainLine(line: ConsoleLine): string {
  const prefix = { stdout: "", stderr: "[stderr] ", system: "[vsmanager] ", command: `${commandLabel(line)} ` }[line.stream];
  return escapePlain(`${line.ts} ${prefix}${line.text}`);
}
