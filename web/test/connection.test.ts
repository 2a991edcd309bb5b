// The socket's resume logic against a fake WebSocket: what it asks for, what it hands on.
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";
import { Backoff } from "../src/backoff";
import { ConsoleConnection, type ConnectionState } from "../src/connection";
import type { ConsoleLine, Gap } from "../src/frames";

class FakeSocket {
  static all: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  sent: string[] = [];
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {}
  open(): void {
    this.onopen?.();
  }
  frame(value: unknown): void {
    this.onmessage?.({ data: JSON.stringify(value) });
  }
  drop(code = 1006): void {
    this.onclose?.({ code, reason: "" });
  }
}

const globals = globalThis as unknown as Record<string, unknown>;
globals["WebSocket"] = FakeSocket;
globals["window"] = globalThis;
globals["location"] = { protocol: "http:", host: "vsm.test:8080" };

function line(seq: number): ConsoleLine {
  return { seq, ts: "2026-01-01T00:00:00Z", stream: "stdout", text: `line ${seq}` };
}

interface Seen {
  lines: number[];
  gaps: Gap[];
  resets: number;
  states: ConnectionState["kind"][];
}

function connect(): { connection: ConsoleConnection; seen: Seen } {
  const seen: Seen = { lines: [], gaps: [], resets: 0, states: [] };
  const connection = new ConsoleConnection(
    { key: "k&y", historyLines: 500, backoff: new Backoff({ initialMs: 1, maxMs: 1, factor: 1 }, () => 0) },
    {
      onLines: (lines) => seen.lines.push(...lines.map((l) => l.seq)),
      onGap: (gap) => seen.gaps.push(gap),
      onStatus: () => {},
      onReset: () => {
        seen.resets += 1;
      },
      onServerError: () => {},
      onState: (state) => seen.states.push(state.kind),
    },
  );
  connection.start();
  return { connection, seen };
}

function latest(): FakeSocket {
  const socket = FakeSocket.all[FakeSocket.all.length - 1];
  assert.ok(socket);
  return socket;
}

async function nextSocket(count: number): Promise<FakeSocket> {
  for (let i = 0; i < 100 && FakeSocket.all.length < count; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(FakeSocket.all.length, count);
  return latest();
}

beforeEach(() => {
  FakeSocket.all = [];
});

test("first connect asks for history, a reconnect for what came after", async () => {
  const { connection, seen } = connect();
  const first = new URL(latest().url);
  assert.equal(first.protocol, "ws:");
  assert.equal(first.searchParams.get("api_key"), "k&y");
  assert.equal(first.searchParams.get("history_lines"), "500");
  assert.equal(first.searchParams.get("after"), null);
  latest().open();
  latest().frame({ type: "lines", lines: [line(1), line(2), line(3)] });
  latest().drop();
  assert.equal(connection.current.kind, "waiting");
  const second = await nextSocket(2);
  assert.equal(new URL(second.url).searchParams.get("after"), "3");
  assert.equal(new URL(second.url).searchParams.get("history_lines"), null);
  second.open();
  // A server that resent lines would be caught here: handed on once, counted.
  second.frame({ type: "lines", lines: [line(3), line(4)] });
  assert.deepEqual(seen.lines, [1, 2, 3, 4]);
  assert.equal(connection.duplicatesDropped, 1);
  connection.close();
});

test("a gap moves the resume point past the lines that were lost", async () => {
  const { connection, seen } = connect();
  latest().open();
  latest().frame({ type: "lines", lines: [line(1)] });
  latest().frame({ type: "gap", from_seq: 2, to_seq: 9, count: 8 });
  latest().frame({ type: "lines", lines: [line(10)] });
  latest().drop();
  const again = await nextSocket(2);
  assert.equal(new URL(again.url).searchParams.get("after"), "10");
  assert.deepEqual(seen.gaps, [{ type: "gap", from_seq: 2, to_seq: 9, count: 8 }]);
  connection.close();
});

test("after_out_of_range (vsmanager restarted) starts afresh from seq 1", () => {
  const { connection, seen } = connect();
  latest().open();
  latest().frame({ type: "lines", lines: [line(41), line(42)] });
  latest().frame({ type: "error", code: "after_out_of_range", message: "restarted" });
  latest().frame({ type: "lines", lines: [line(1), line(2)] });
  assert.equal(seen.resets, 1);
  assert.deepEqual(seen.lines, [41, 42, 1, 2]);
  assert.equal(connection.duplicatesDropped, 0);
  connection.close();
});

test("a rejected key signs out instead of retrying", async () => {
  const { connection, seen } = connect();
  latest().drop(4001);
  assert.equal(connection.current.kind, "signed-out");
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(FakeSocket.all.length, 1);
  assert.deepEqual(seen.states, ["connecting", "signed-out"]);
  connection.close();
});

test("commands go over the socket only while connected", () => {
  const { connection } = connect();
  assert.equal(connection.sendCommand("/help"), false);
  latest().open();
  assert.equal(connection.sendCommand("/help"), true);
  assert.deepEqual(latest().sent, ['{"type":"command","command":"/help"}']);
  connection.close();
});
