// Tab completion for the command bar: known Vintage Story commands, then the history.

/** Server commands and their first arguments (../shared/VINTAGE_STORY.md). */
export const KNOWN_COMMANDS: readonly string[] = [
  "/announce ",
  "/autosavenow",
  "/ban ",
  "/genbackup",
  "/help",
  "/info seed",
  "/info mapsize",
  "/kick ",
  "/list clients",
  "/list banned",
  "/list role",
  "/list privileges",
  "/op ",
  "/serverconfig ",
  "/stats",
  "/stop",
  "/time",
  "/time set ",
  "/time speed ",
  "/time stop",
  "/time resume",
  "/unban ",
  "/weather",
  "/whitelist ",
];

/** Candidates that extend `prefix`, history first (newest first), no duplicates. */
export function candidates(prefix: string, history: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  const lower = prefix.toLowerCase();
  const consider = (value: string): void => {
    if (value.length > prefix.length && value.toLowerCase().startsWith(lower) && !seen.has(value)) {
      seen.add(value);
      out.push(value);
    }
  };
  for (let i = history.length - 1; i >= 0; i--) consider(history[i] ?? "");
  for (const command of KNOWN_COMMANDS) consider(command);
  return out;
}

/** The longest prefix the candidates share (case as in the first one). */
export function commonPrefix(values: readonly string[]): string {
  const first = values[0];
  if (first === undefined) return "";
  let end = first.length;
  for (const value of values) {
    let i = 0;
    while (i < end && i < value.length && value[i]?.toLowerCase() === first[i]?.toLowerCase()) i++;
    end = i;
  }
  return first.slice(0, end);
}
