// How one console entry becomes terminal text: colours per stream, [CMD] prefix, optional
// timestamp, and the game's own ANSI colours kept. Pure: no DOM, no terminal.
import type { ConsoleLine, Gap } from "./frames";

export type Entry =
  | { readonly kind: "line"; readonly line: ConsoleLine }
  | { readonly kind: "gap"; readonly gap: Gap }
  | { readonly kind: "note"; readonly text: string; readonly tone: "info" | "error" };

const RESET = "\x1b[0m";
// Palette colours, not RGB, so that a theme switch recolours what is already on screen.
const STYLE = {
  stderr: "\x1b[31m", // red
  system: "\x1b[36m", // cyan
  command: "\x1b[1;35m", // bold magenta
  timestamp: "\x1b[90m", // bright black
  gap: "\x1b[30;43m", // black on yellow
  info: "\x1b[33m", // yellow
  error: "\x1b[1;31m", // bold red
} as const;

// Game output may carry colour (SGR) sequences, which we render; any other escape sequence
// or control character could move the cursor, clear the screen or retitle the tab, so it is
// dropped. Tab is kept.
const CONTROL = /\x1b\[[0-9;:?<=>]*[ -/]*[@-~]|\x1b[\s\S]?|[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;
const SGR = /^\x1b\[[0-9;:]*m$/;

export function sanitize(text: string): string {
  return text.replace(CONTROL, (match) => (SGR.test(match) ? match : ""));
}

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
export function renderEntry(entry: Entry, timestamps: boolean): string {
  switch (entry.kind) {
    case "gap":
      return `${STYLE.gap} ${gapText(entry.gap)} ${RESET}`;
    case "note":
      return `${STYLE[entry.tone]}${sanitize(entry.text)}${RESET}`;
    case "line": {
      const { line } = entry;
      const stamp = timestamps ? `${STYLE.timestamp}${formatTime(line.ts)}${RESET} ` : "";
      return `${stamp}${streamStyle(line)}${RESET}`;
    }
  }
}

function streamStyle(line: ConsoleLine): string {
  const text = sanitize(line.text);
  switch (line.stream) {
    case "stdout":
      return text;
    case "stderr":
      return `${STYLE.stderr}${text}`;
    case "system":
      return `${STYLE.system}[vsmanager] ${text}`;
    case "command":
      return `${STYLE.command}[CMD] ${text}`;
  }
}

/** One line of a downloaded .log file: plain text, no colour. */
export function plainLine(line: ConsoleLine): string {
  const prefix = { stdout: "", stderr: "[stderr] ", system: "[vsmanager] ", command: "[CMD] " }[line.stream];
  return `${line.ts} ${prefix}${line.text}`;
}
