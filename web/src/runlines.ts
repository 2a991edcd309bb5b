// One line of the "run N: its last lines" dialog, in parts: vsmanager's time, the mark (a
// badge the page draws as an element: game text, shown as plain text, cannot make one),
// the text without the game's own stamp, and its level class. Pure: no DOM.
import type { ConsoleLine } from "./frames";
import { commandLabel, formatTime } from "./render";
import { escapePlain } from "./sanitize";
import type { LineClass, LineClassifier } from "./vocabulary";

export type BadgeKind = "command" | "system" | "stderr";

export interface RunLineParts {
  readonly time: string;
  readonly badge: { readonly kind: BadgeKind; readonly text: string } | null;
  readonly text: string;
  readonly level: LineClass | null;
}

export function runLineParts(line: ConsoleLine, vocabulary: LineClassifier, levels: boolean): RunLineParts {
  const game = line.stream === "stdout" || line.stream === "stderr";
  // One timestamp per line: vsmanager's, as in the console; the game's own is dropped.
  const text = escapePlain(game ? vocabulary.withoutStamp(line.text) : line.text);
  let badge: RunLineParts["badge"] = null;
  if (line.stream === "command") badge = { kind: "command", text: commandLabel(line).slice(1, -1) };
  else if (line.stream === "system") badge = { kind: "system", text: "vsmanager" };
  else if (line.stream === "stderr") badge = { kind: "stderr", text: "stderr" };
  const level = game && levels ? vocabulary.classify(line.text) : null;
  return { time: formatTime(line.ts), badge, text, level };
}
