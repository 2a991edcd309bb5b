// The socket's resume logic against a fake WebSocket: what it asks for, what it hands on.
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";
import { Backoff } from "../src/backoff";
import { ConsoleConnection, CredentialRefused, type ConnectionState, type Credential } from "../src/connection";
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

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

let tickets = 0;

async function connect(
  credential: () => Promise<Credential> = async () => ({ ticket: `t&${++tickets}` }),
): Promise<{ connection: ConsoleConnection; seen: Seen }> {
  const seen: Seen = { lines: [], gaps: [], resets: 0, states: [] };
  const connection = new ConsoleConnection(
    { credential, historyLines: 500, backoff: new Backoff({ initialMs: 1, maxMs: 1, factor: 1 }, () => 0) },
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
  await settle(); // the ticket is fetched before the socket opens
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
  tickets = 0;
});

test("first connect asks for history, a reconnect for what came after, each with a fresh ticket", async () => {
  const { connection, seen } = await connect();
  const first = new URL(latest().url);
  assert.equal(first.protocol, "ws:");
  assert.equal(first.searchParams.get("ticket"), "t&1");
  assert.equal(first.searchParams.get("api_key"), null);
  assert.equal(first.searchParams.get("history_lines"), "500");
  // paced to what the page can draw (docs/streaming.md, "Frame budget")
  assert.equal(first.searchParams.get("frames_per_second"), "60");
  assert.equal(first.searchParams.get("after"), null);
  latest().open();
  latest().frame({ type: "status", state: "running", pid: 1, uptime_s: 1, exit_code: null, started_at: null, restarts: 0, console_id: "c0ffee" });
  latest().frame({ type: "lines", lines: [line(1), line(2), line(3)] });
  latest().drop();
  assert.equal(connection.current.kind, "waiting");
  const second = await nextSocket(2);
  const query = new URL(second.url).searchParams;
  assert.equal(query.get("after"), "3");
  assert.equal(query.get("console_id"), "c0ffee");
  assert.equal(query.get("ticket"), "t&2");
  second.open();
  // A server that resent lines would be caught here: handed on once, counted.
  second.frame({ type: "lines", lines: [line(3), line(4)] });
  assert.deepEqual(seen.lines, [1, 2, 3, 4]);
  assert.equal(connection.duplicatesDropped, 1);
  connection.close();
});

test("a gap moves the resume point past the lines that were lost", async () => {
  const { connection, seen } = await connect();
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

test("console_restarted: what follows is a fresh start, in the new numbering", async () => {
  const { connection, seen } = await connect();
  latest().open();
  latest().frame({ type: "status", state: "running", pid: 1, uptime_s: 1, exit_code: null, started_at: null, restarts: 0, console_id: "old" });
  latest().frame({ type: "lines", lines: [line(41), line(42)] });
  latest().drop();
  const again = await nextSocket(2);
  assert.equal(new URL(again.url).searchParams.get("console_id"), "old");
  again.open();
  again.frame({ type: "error", code: "console_restarted", message: "vsmanager restarted" });
  again.frame({ type: "status", state: "running", pid: 2, uptime_s: 1, exit_code: null, started_at: null, restarts: 0, console_id: "new" });
  again.frame({ type: "lines", lines: [line(5), line(6)] }); // older lines evicted: history starts at 5
  assert.equal(seen.resets, 1);
  assert.deepEqual(seen.lines, [41, 42, 5, 6]);
  assert.equal(connection.duplicatesDropped, 0);
  assert.equal(connection.console, "new");
  again.drop();
  const third = await nextSocket(3);
  assert.equal(new URL(third.url).searchParams.get("after"), "6");
  assert.equal(new URL(third.url).searchParams.get("console_id"), "new");
  connection.close();
});

test("a vsmanager without tickets gets the key, and a refused ticket signs out", async () => {
  const old = await connect(async () => ({ apiKey: "k&y" }));
  assert.equal(new URL(latest().url).searchParams.get("api_key"), "k&y");
  old.connection.close();
  const refused = await connect(async () => {
    throw new CredentialRefused(401);
  });
  assert.equal(refused.connection.current.kind, "signed-out");
  assert.equal(FakeSocket.all.length, 1); // no socket was opened for the refused ticket
  const unreachable = await connect(async () => {
    throw new Error("network down");
  });
  assert.equal(unreachable.connection.current.kind, "waiting");
  unreachable.connection.close();
});

test("after_out_of_range (an older vsmanager restarted) starts afresh from seq 1", async () => {
  const { connection, seen } = await connect();
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
  const { connection, seen } = await connect();
  latest().drop(4001);
  assert.equal(connection.current.kind, "signed-out");
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(FakeSocket.all.length, 1);
  assert.deepEqual(seen.states, ["connecting", "signed-out"]);
  connection.close();
});

test("commands go over the socket only while connected", async () => {
  const { connection } = await connect();
  assert.equal(connection.sendCommand("/help"), false);
  latest().open();
  assert.equal(connection.sendCommand("/help"), true);
  assert.deepEqual(latest().sent, ['{"type":"command","command":"/help"}']);
  connection.close();
});
