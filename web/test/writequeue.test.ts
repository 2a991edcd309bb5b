// The terminal's write queue: a frame's entries rendered in one pass, in order, bounded.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ConsoleLine } from "../src/frames";
import { renderEntry, type Entry } from "../src/render";
import { LineClassifier } from "../src/vocabulary";
import { BUSY_WRITE_INTERVAL_MS, WriteQueue, writeDelay } from "../src/writequeue";

const line = (seq: number, text = `line ${seq}`): Entry => {
  const l: ConsoleLine = { seq, ts: "2026-12-01T03:00:00Z", stream: "stdout", text };
  return { kind: "line", line: l };
};
const rowsOf = (text: string): string[] => text.split("\r\n").filter((row) => row !== "").map((row) => row.replace("\x1b[0m", ""));

test("one take renders every queued entry in order, as renderEntry would one by one", () => {
  const queue = new WriteQueue(100);
  const entries: Entry[] = [line(1), { kind: "run", text: "▶ run 2" }, line(2, "\x1b[31mred\x1b[0m"), { kind: "gap", gap: { from_seq: 3, to_seq: 4, count: 2 } }];
  for (const entry of entries) queue.push(entry);
  const levels = new LineClassifier({ stamp: null, lineClasses: [{ name: "event", label: "Event", pattern: "^line" }], playerActions: [] });
  const { text, count } = queue.take(true, levels);
  assert.equal(count, 4);
  assert.equal(text, entries.map((e) => renderEntry(e, true, levels) + "\r\n").join(""));
  assert.equal(queue.size, 0);
  assert.deepEqual(queue.take(false, null), { text: "", count: 0 });
});

test("a queue that is not drawn keeps only the newest scrollback's worth, in order", () => {
  const queue = new WriteQueue(10);
  for (let seq = 1; seq <= 1_000; seq++) queue.push(line(seq));
  assert.ok(queue.size <= 20, `bounded, not ${queue.size}`);
  const { text, count } = queue.take(false, null);
  assert.equal(count, 10);
  assert.deepEqual(rowsOf(text), Array.from({ length: 10 }, (_, i) => `line ${991 + i}`));
});

test("a redraw replaces what is queued with what is kept, bounded", () => {
  const queue = new WriteQueue(3);
  queue.push(line(99));
  queue.replace([line(1), line(2), line(3), line(4)]);
  assert.deepEqual(rowsOf(queue.take(false, null).text), ["line 2", "line 3", "line 4"]);
});

test("a write that filled the screen makes the next one wait; a quiet console writes at once", () => {
  assert.equal(writeDelay(0, 40), 0);
  assert.equal(writeDelay(40, 40), 0);
  assert.equal(writeDelay(41, 40), BUSY_WRITE_INTERVAL_MS);
});
