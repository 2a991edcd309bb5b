// The DOM-free parts of the page: backoff, history, completion, rendering, frames, the store.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Backoff } from "../src/backoff";
import { candidates, commonPrefix } from "../src/completion";
import { EntryStore } from "../src/entrystore";
import { parseFrame } from "../src/frames";
import { CommandHistory } from "../src/history";
import { gapText, plainLine, renderEntry } from "../src/render";
import { escapePlain, foregroundOnly, sanitize } from "../src/sanitize";

class MemoryStorage implements Storage {
  private items = new Map<string, string>();
  get length(): number {
    return this.items.size;
  }
  clear(): void {
    this.items.clear();
  }
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  key(index: number): string | null {
    return [...this.items.keys()][index] ?? null;
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
}

test("backoff doubles up to its cap, with jitter in the upper half", () => {
  const low = new Backoff({ initialMs: 500, maxMs: 4000, factor: 2 }, () => 0);
  assert.deepEqual([1, 2, 3, 4, 5].map(() => low.next()), [250, 500, 1000, 2000, 2000]);
  const high = new Backoff({ initialMs: 500, maxMs: 4000, factor: 2 }, () => 1);
  assert.deepEqual([1, 2, 3, 4, 5].map(() => high.next()), [500, 1000, 2000, 4000, 4000]);
  high.reset();
  assert.equal(high.next(), 500);
});

test("history walks back and forth and keeps the draft", () => {
  const history = new CommandHistory(new MemoryStorage());
  history.add("/help");
  history.add("/stats");
  assert.equal(history.previous("/ti"), "/stats");
  assert.equal(history.previous("ignored"), "/help");
  assert.equal(history.previous("ignored"), null);
  assert.equal(history.next(), "/stats");
  assert.equal(history.next(), "/ti");
  assert.equal(history.next(), null);
});

test("history is bounded, skips repeats and survives a reload", () => {
  const storage = new MemoryStorage();
  const history = new CommandHistory(storage, 3);
  for (const command of ["/a", "/b", "/b", "/c", "/d"]) history.add(command);
  assert.deepEqual(history.all, ["/b", "/c", "/d"]);
  assert.deepEqual(new CommandHistory(storage, 3).all, ["/b", "/c", "/d"]);
  storage.setItem("vsmanager.commandHistory", "{not json");
  assert.deepEqual(new CommandHistory(storage).all, []);
});

test("completion offers history first, then known commands", () => {
  assert.deepEqual(candidates("/autos", []), ["/autosavenow"]);
  assert.deepEqual(candidates("/time s", ["/time set 12:00"]), ["/time set 12:00", "/time set ", "/time speed ", "/time stop"]);
  assert.deepEqual(candidates("/stats", []), []);
  assert.equal(commonPrefix(["/list clients", "/list banned"]), "/list ");
  assert.equal(commonPrefix([]), "");
});

test("sanitize keeps colours and drops cursor moves and control characters", () => {
  assert.equal(sanitize("\x1b[31mred\x1b[0m"), "\x1b[31mred\x1b[0m");
  assert.equal(sanitize("a\x1b[2Jb\x1b[Hc"), "abc");
  assert.equal(sanitize("bell\x07 nul\x00 del\x7f tab\tok"), "bell nul del tab\tok");
  assert.equal(sanitize("title\x1b]0;pwned\x07"), "title0;pwned");
  assert.equal(sanitize("osc52\x1b]52;c;aGk=\x07"), "osc5252;c;aGk=");
});

test("game text keeps its foreground colours and nothing that could forge a mark", () => {
  // The forgeries of issue #9: a fake command echo, a fake system line, hidden text.
  assert.equal(sanitize("\x1b[1;35m[CMD] /op attacker"), "\x1b[35m[CMD] /op attacker");
  assert.equal(sanitize("\x1b[36m[vsmanager] server stopped by admin"), "\x1b[36m[vsmanager] server stopped by admin");
  assert.equal(sanitize("a\x1b[8mhidden\x1b[28m"), "ahidden");
  for (const attr of ["1", "2", "3", "4", "4:3", "5", "6", "7", "8", "9", "21", "53", "41", "103", "48;5;1", "48;2;1;2;3"]) {
    assert.equal(sanitize(`\x1b[${attr}mx`), "x", `SGR ${attr} must go`);
  }
  assert.equal(foregroundOnly(""), "0");
  assert.equal(foregroundOnly("0;1;31"), "0;31");
  assert.equal(foregroundOnly("1;7;93;44"), "93");
  assert.equal(foregroundOnly("38;5;208;48;5;17;4"), "38;5;208");
  assert.equal(foregroundOnly("38;2;255;0;128"), "38;2;255;0;128");
  assert.equal(foregroundOnly("38;2;255"), null); // truncated: no colour, and nothing misread
  assert.equal(foregroundOnly("38:2::1:2:3;1"), "38:2::1:2:3");
  assert.equal(foregroundOnly("7;27;8"), null);
});

test("bidirectional controls are shown escaped, not obeyed", () => {
  assert.equal(sanitize("abc\u202edcba"), "abc\\u202edcba");
  assert.equal(sanitize("\u2066x\u2069 \u200f \u061c"), "\\u2066x\\u2069 \\u200f \\u061c");
});

test("plain text escapes every control character like the terminal client", () => {
  assert.equal(escapePlain("a\x1b[2Jb\x1b]52;c;aGk=\x07\ttab"), "a\\x1b[2Jb\\x1b]52;c;aGk=\\x07\ttab");
  assert.equal(escapePlain("\x9b\x7f\u202e\r\n"), "\\x9b\\x7f\\u202e\\x0d\\x0a");
});

test("lines render per stream, and reset their colour", () => {
  const line = { seq: 1, ts: "2026-01-01T12:00:00+00:00", text: "/help" } as const;
  assert.equal(renderEntry({ kind: "line", line: { ...line, stream: "command" } }, false), "\x1b[1;7;35m[CMD]\x1b[0m \x1b[1;35m/help\x1b[0m");
  assert.equal(renderEntry({ kind: "line", line: { ...line, stream: "command", by: "alice" } }, false), "\x1b[1;7;35m[CMD alice]\x1b[0m \x1b[1;35m/help\x1b[0m");
  assert.equal(renderEntry({ kind: "line", line: { ...line, stream: "system", text: "x" } }, false), "\x1b[1;7;36m[vsmanager]\x1b[0m \x1b[36mx\x1b[0m");
  assert.equal(plainLine({ ...line, stream: "command", by: "alice" }), "2026-01-01T12:00:00+00:00 [CMD alice] /help");
  assert.equal(plainLine({ ...line, stream: "stdout", text: "\x1b[31mred\u202e" }), "2026-01-01T12:00:00+00:00 \\x1b[31mred\\u202e");
  assert.equal(renderEntry({ kind: "line", line: { ...line, stream: "stdout" } }, false), "/help\x1b[0m");
  assert.match(renderEntry({ kind: "line", line: { ...line, stream: "stdout" } }, true), /^\x1b\[90m\d\d:\d\d:\d\d\x1b\[0m \/help/);
  assert.equal(gapText({ from_seq: 5, to_seq: 1204, count: 1200 }), "— 1,200 lines skipped —");
  assert.equal(plainLine({ ...line, stream: "stderr", text: "boom" }), "2026-01-01T12:00:00+00:00 [stderr] boom");
});

test("frames are checked before use", () => {
  assert.deepEqual(parseFrame('{"type":"gap","from_seq":1,"to_seq":3,"count":3}'), { type: "gap", from_seq: 1, to_seq: 3, count: 3 });
  assert.equal(parseFrame('{"type":"lines","lines":[{"seq":"1"}]}'), null);
  assert.equal(parseFrame('{"type":"status","state":"exploded","restarts":0}'), null);
  assert.equal(parseFrame("[1,2]"), null);
  assert.equal(parseFrame("not json"), null);
  assert.equal(parseFrame('{"type":"future"}'), null);
});

test("the entry store keeps the newest entries up to its limit", () => {
  const store = new EntryStore(3);
  for (let i = 1; i <= 10_000; i++) store.push({ kind: "note", text: String(i), tone: "info" });
  assert.deepEqual([...store].map((e) => (e.kind === "note" ? e.text : "")), ["9998", "9999", "10000"]);
  store.setLimit(1);
  assert.equal(store.size, 1);
});
