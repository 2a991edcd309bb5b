// How the game's lines read and which commands act on a player, from the server's game
// profile (GET /console/profile). Pure: the classifier is the per-line work the page adds
// for level colours, kept apart so that it can be batched with the rest of a frame's work.

export type LineClass = "warning" | "error" | "trace" | "chat" | "event";
export type PlayerActionName = "kick" | "ban" | "op" | "whitelist" | "message";

export interface LinePattern {
  readonly name: LineClass;
  readonly label: string;
  readonly pattern: string;
}

export interface PlayerAction {
  readonly action: PlayerActionName;
  readonly label: string;
  /** "{name}" is the player, "{text}" what the admin typed. */
  readonly command: string;
  /** The field's label ("Reason"), or null when the command takes nothing more. */
  readonly text: string | null;
  readonly text_required: boolean;
  readonly explain: string;
}

export interface Vocabulary {
  readonly stamp: string | null;
  readonly lineClasses: readonly LinePattern[];
  readonly playerActions: readonly PlayerAction[];
}

export const EMPTY_VOCABULARY: Vocabulary = { stamp: null, lineClasses: [], playerActions: [] };

const CLASSES: ReadonlySet<string> = new Set(["warning", "error", "trace", "chat", "event"]);
const ACTIONS: ReadonlySet<string> = new Set(["kick", "ban", "op", "whitelist", "message"]);

function compiles(source: unknown): source is string {
  if (typeof source !== "string" || source.length > 2000) return false;
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isLinePattern(value: unknown): value is LinePattern {
  return isObject(value) && typeof value["name"] === "string" && CLASSES.has(value["name"]) &&
    typeof value["label"] === "string" && compiles(value["pattern"]);
}

function isPlayerAction(value: unknown): value is PlayerAction {
  return isObject(value) && typeof value["action"] === "string" && ACTIONS.has(value["action"]) &&
    typeof value["label"] === "string" && typeof value["command"] === "string" &&
    value["command"].startsWith("/") && value["command"].includes("{name}") &&
    (value["text"] === null || typeof value["text"] === "string") &&
    typeof value["text_required"] === "boolean" && typeof value["explain"] === "string";
}

/** The server's answer, keeping only the entries with the documented shape. */
export function parseVocabulary(value: unknown): Vocabulary {
  if (!isObject(value)) return EMPTY_VOCABULARY;
  const lines = Array.isArray(value["line_classes"]) ? value["line_classes"] : [];
  const actions = Array.isArray(value["player_actions"]) ? value["player_actions"] : [];
  return {
    stamp: compiles(value["stamp"]) ? value["stamp"] : null,
    lineClasses: lines.filter(isLinePattern),
    playerActions: actions.filter(isPlayerAction),
  };
}

/** Which class a game line belongs to (first pattern that matches), or null. */
export class LineClassifier {
  private readonly patterns: readonly { readonly name: LineClass; readonly regex: RegExp }[];
  private readonly stamp: RegExp | null;

  constructor(vocabulary: Vocabulary) {
    this.patterns = vocabulary.lineClasses.map((p) => ({ name: p.name, regex: new RegExp(p.pattern) }));
    this.stamp = vocabulary.stamp === null ? null : new RegExp(vocabulary.stamp);
  }

  get isEmpty(): boolean {
    return this.patterns.length === 0;
  }

  classify(text: string): LineClass | null {
    for (const { name, regex } of this.patterns) if (regex.test(text)) return name;
    return null;
  }

  /** The text without the game's own leading stamp (where vsmanager's time stands instead). */
  withoutStamp(text: string): string {
    if (this.stamp === null) return text;
    const found = this.stamp.exec(text);
    return found === null ? text : text.slice(found[0].length);
  }
}

/** The command a player action sends: the name, then what was typed (one line, trimmed). */
export function actionCommand(action: PlayerAction, name: string, text: string): string {
  const typed = text.replace(/[\r\n]+/g, " ").trim();
  // One pass: a name or a reason that itself holds "{text}" is not expanded again.
  return action.command.replace(/\{(name|text)\}/g, (_, key: string) => (key === "name" ? name : typed)).trimEnd();
}
