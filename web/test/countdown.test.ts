// The countdown banner's words, and what it accepts from a status frame.
import assert from "node:assert/strict";
import { test } from "node:test";
import { countdownOf, countdownText } from "../src/countdown";

const at = Date.parse("2026-12-06T04:00:00Z");
const countdown = { schedule: "nightly", action: "restart", at: "2026-12-06T04:00:00Z" };

test("the banner reads like a clock", () => {
  assert.equal(countdownText(countdown, at - 299_000), "Restart in 4:59 (schedule nightly)");
  assert.equal(countdownText(countdown, at - 9_500), "Restart in 0:10 (schedule nightly)");
  assert.equal(countdownText(countdown, at - 3_723_000), "Restart in 1:02:03 (schedule nightly)");
  assert.equal(countdownText(countdown, at + 5_000), "Restart now (schedule nightly)");
  assert.equal(countdownText({ ...countdown, action: "stop" }, at - 60_000), "Stop in 1:00 (schedule nightly)");
});

test("only a well-formed countdown is taken from the status", () => {
  assert.deepEqual(countdownOf({ state: "running", countdown }), countdown);
  assert.equal(countdownOf({ state: "running", countdown: null }), null);
  assert.equal(countdownOf({ state: "running" }), null);
  assert.equal(countdownOf({ countdown: { schedule: 1, action: "restart", at: "x" } }), null);
  assert.equal(countdownOf(null), null);
});
