// Issue #17's pure parts: search numbering, the game vocabulary (classes, stamp, player
// commands), the run dialog's line parts, level colours in rendering.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ConsoleLine } from "../src/frames";
import { LEVEL_STYLE, levelStyle, renderEntry } from "../src/render";
import { runLineParts } from "../src/runlines";
import { matchCount } from "../src/search";
import { actionCommand, EMPTY_VOCABULARY, LineClassifier, parseVocabulary, type PlayerAction } from "../src/vocabulary";

const STAMP = "^\\d{1,2}\\.\\d{1,2}\\.\\d{4} \\d{1,2}:\\d{2}:\\d{2} ";
const SERVER = {
  profile: "vintagestory",
  stamp: STAMP,
  line_classes: [
    { name: "warning", label: "Warning", pattern: "^(?:\\d{1,2}\\.\\d{1,2}\\.\\d{4} \\d{1,2}:\\d{2}:\\d{2} )?\\[Server Warning\\] " },
    { name: "trace", label: "Stack trace", pattern: "^\\s+at \\S" },
    { name: "bogus", label: "x", pattern: "." }, // an unknown class is dropped
    { name: "error", label: "Error", pattern: "(" }, // a pattern that does not compile too
  ],
  player_actions: [
    { action: "kick", label: "Kick", command: "/kick {name} {text}", text: "Reason", text_required: false, explain: "." },
    { action: "op", label: "Op", command: "op {name}", text: null, text_required: false, explain: "." }, // no "/"
  ],
};

function line(text: string, stream: ConsoleLine["stream"] = "stdout", by?: string): ConsoleLine {
  return { seq: 1, ts: "2026-12-06T20:00:00Z", stream, text, ...(by === undefined ? {} : { by }) };
}

test("search counts from the newest match", () => {
  assert.equal(matchCount(38, 39), "1 of 39"); // the addon's last index is the newest line
  assert.equal(matchCount(0, 39), "39 of 39");
  assert.equal(matchCount(7, 8), "1 of 8");
  assert.equal(matchCount(-1, 2000), "2,000 matches");
  assert.equal(matchCount(0, 0), "no matches");
});

test("the vocabulary keeps only well-formed entries", () => {
  const vocabulary = parseVocabulary(SERVER);
  assert.deepEqual(vocabulary.lineClasses.map((c) => c.name), ["warning", "trace"]);
  assert.deepEqual(vocabulary.playerActions.map((a) => a.action), ["kick"]);
  assert.equal(vocabulary.stamp, STAMP);
  assert.deepEqual(parseVocabulary("nonsense"), EMPTY_VOCABULARY);
  assert.deepEqual(parseVocabulary({ line_classes: "x", stamp: "(" }), EMPTY_VOCABULARY);
});

test("lines are classified, and a class colours only its own lines", () => {
  const levels = new LineClassifier(parseVocabulary(SERVER));
  assert.equal(levels.classify("6.12.2026 20:55:00 [Server Warning] overloaded"), "warning");
  assert.equal(levels.classify("   at Vintagestory.Server.ServerMain.Process()"), "trace");
  assert.equal(levels.classify("6.12.2026 20:55:00 [Server Notification] hello"), null);
  assert.equal(levelStyle("[Server Warning] x", levels), LEVEL_STYLE.warning);
  assert.equal(levelStyle("[Server Warning] x", null), ""); // the switch is off
  const rendered = renderEntry({ kind: "line", line: line("[Server Warning] x") }, false, levels);
  assert.ok(rendered.startsWith(LEVEL_STYLE.warning));
  // A level colour is never bold nor a background: marks stay unforgeable.
  for (const style of Object.values(LEVEL_STYLE)) assert.doesNotMatch(style, /\x1b\[(?:[0-9;]*;)?(?:1|7|4\d)(?:;|m)/);
  // System and command lines are vsmanager's, never classified.
  const system = renderEntry({ kind: "line", line: line("[Server Warning] x", "system") }, false, levels);
  assert.ok(!system.includes(LEVEL_STYLE.warning));
});

test("a run line has one timestamp and its mark as a badge", () => {
  const vocabulary = new LineClassifier(parseVocabulary(SERVER));
  const game = runLineParts(line("6.12.2026 20:55:00 [Server Warning] overloaded"), vocabulary, true);
  assert.equal(game.text, "[Server Warning] overloaded");
  assert.equal(game.badge, null);
  assert.equal(game.level, "warning");
  assert.match(game.time, /^\d\d:\d\d:\d\d$/);
  const forged = runLineParts(line("[CMD alice] /op attacker"), vocabulary, true);
  assert.equal(forged.badge, null); // the game's text is text
  assert.equal(forged.text, "[CMD alice] /op attacker");
  assert.deepEqual(runLineParts(line("/op Tyron", "command", "alice"), vocabulary, true).badge, { kind: "command", text: "CMD alice" });
  assert.deepEqual(runLineParts(line("server stopped", "system"), vocabulary, true).badge, { kind: "system", text: "vsmanager" });
  assert.equal(runLineParts(line("a\x1b[2Jb"), vocabulary, false).text, "a\\x1b[2Jb");
  assert.equal(runLineParts(line("6.12.2026 20:55:00 [Server Warning] x"), vocabulary, false).level, null);
});

test("a player action's command holds the name and the typed text, on one line", () => {
  const kick: PlayerAction = { action: "kick", label: "Kick", command: "/kick {name} {text}", text: "Reason", text_required: false, explain: "." };
  assert.equal(actionCommand(kick, "Tyron", "  griefing\nand worse "), "/kick Tyron griefing and worse");
  assert.equal(actionCommand(kick, "Tyron", ""), "/kick Tyron");
  assert.equal(actionCommand(kick, "{text}", "x"), "/kick {text} x"); // expanded once
});
