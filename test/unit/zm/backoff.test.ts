import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OutageGate, backoffDelay, type BackoffPolicy } from '../../../src/backoff.js';

const noJitter: BackoffPolicy = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0 };
const middle = () => 0.5; // jitter term is zero at 0.5

test('the backoff delay doubles from the initial delay and stops at the cap', () => {
  const delays = Array.from({ length: 9 }, (_, attempt) => backoffDelay(attempt, noJitter));
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
});

test('jitter moves the delay at most the configured fraction either way and never above the cap', () => {
  const policy = { ...noJitter, jitter: 0.2 };
  assert.equal(backoffDelay(0, policy, () => 0), 400);
  assert.equal(backoffDelay(0, policy, () => 0.999_999), 600);
  assert.equal(backoffDelay(10, policy, () => 0.999_999), 30_000);
  assert.equal(backoffDelay(10, policy, () => 0), 24_000);
});

test('while up every query passes and successes change nothing', () => {
  const gate = new OutageGate(noJitter, middle);
  const a = gate.admit(0);
  const b = gate.admit(0);
  assert.equal(a.kind, 'pass');
  assert.equal(b.kind, 'pass');
  assert.deepEqual(a.kind === 'pass' && gate.succeed(a.ticket, 1), { kind: 'none' });
  assert.equal(gate.isDown, false);
});

test('the first failure starts one outage and concurrent failures do not start another', () => {
  const gate = new OutageGate(noJitter, middle);
  const tickets = [gate.admit(0), gate.admit(0), gate.admit(0)].map((a) => (a.kind === 'reject' ? assert.fail() : a.ticket));
  const transitions = tickets.map((t) => gate.fail(t, 10, 'connect ECONNREFUSED'));
  assert.deepEqual(transitions, [
    { kind: 'outage-started', reason: 'connect ECONNREFUSED' },
    { kind: 'none' },
    { kind: 'none' },
  ]);
  assert.equal(gate.isDown, true);
  assert.equal(gate.downSince, 10);
});

test('during the backoff window queries are rejected with the time left, then exactly one probe is admitted', () => {
  const gate = new OutageGate(noJitter, middle);
  const first = gate.admit(0);
  assert.ok(first.kind === 'pass');
  gate.fail(first.ticket, 1000, 'down');
  assert.deepEqual(gate.admit(1200), { kind: 'reject', retryInMs: 300, reason: 'down' });
  assert.equal(gate.msUntilProbe(1200), 300);
  const probe = gate.admit(1500);
  assert.equal(probe.kind, 'probe');
  assert.deepEqual(gate.admit(1500), { kind: 'reject', retryInMs: 0, reason: 'down' });
  assert.equal(gate.msUntilProbe(1500), null);
});

test('a failed probe doubles the wait before the next probe', () => {
  const gate = new OutageGate(noJitter, middle);
  const first = gate.admit(0);
  assert.ok(first.kind === 'pass');
  gate.fail(first.ticket, 0, 'down');
  const probe1 = gate.admit(500);
  assert.ok(probe1.kind === 'probe');
  assert.deepEqual(gate.fail(probe1.ticket, 600, 'still down'), { kind: 'probe-failed', reason: 'still down', nextProbeInMs: 1000 });
  assert.equal(gate.admit(1599).kind, 'reject');
  const probe2 = gate.admit(1600);
  assert.ok(probe2.kind === 'probe');
  assert.deepEqual(gate.fail(probe2.ticket, 1600, 'still down'), { kind: 'probe-failed', reason: 'still down', nextProbeInMs: 2000 });
});

test('a successful probe ends the outage and reports how long it lasted', () => {
  const gate = new OutageGate(noJitter, middle);
  const first = gate.admit(0);
  assert.ok(first.kind === 'pass');
  gate.fail(first.ticket, 100, 'down');
  const probe = gate.admit(700);
  assert.ok(probe.kind === 'probe');
  assert.deepEqual(gate.succeed(probe.ticket, 750), { kind: 'restored', downForMs: 650 });
  assert.equal(gate.isDown, false);
  assert.equal(gate.admit(751).kind, 'pass');
});

test('a query admitted before the outage that succeeds late does not end the outage', () => {
  const gate = new OutageGate(noJitter, middle);
  const early = gate.admit(0);
  const failing = gate.admit(0);
  assert.ok(early.kind === 'pass' && failing.kind === 'pass');
  gate.fail(failing.ticket, 10, 'down');
  assert.deepEqual(gate.succeed(early.ticket, 20), { kind: 'none' });
  assert.equal(gate.isDown, true);
});

test('a released probe lets the next caller probe without waiting again', () => {
  const gate = new OutageGate(noJitter, middle);
  const first = gate.admit(0);
  assert.ok(first.kind === 'pass');
  gate.fail(first.ticket, 0, 'down');
  const probe = gate.admit(500);
  assert.ok(probe.kind === 'probe');
  gate.release(probe.ticket);
  assert.equal(gate.admit(500).kind, 'probe');
});
