import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_OFFLINE_QUEUE, OfflineQueue, type QueuedMessage } from '../../../src/mqtt/offline-queue.js';

const message = (n: number, queuedAt = 0): QueuedMessage => ({ topic: `zm/${n}`, payload: String(n), qos: 0, retain: false, queuedAt });
const payloads = (messages: readonly QueuedMessage[]) => messages.map((m) => Number(m.payload));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('the default bound is 1,000 messages or 10 minutes', () => {
  assert.deepEqual(DEFAULT_OFFLINE_QUEUE, { maxMessages: 1000, maxAgeMs: 600_000 });
});

test('drains in the order queued, then is empty', () => {
  const queue = new OfflineQueue();
  for (const n of [3, 1, 2]) queue.push(message(n));
  assert.equal(queue.size, 3);
  const { messages, losses } = queue.drain(0);
  assert.deepEqual(payloads(messages), [3, 1, 2]);
  assert.deepEqual(losses, { overflowed: 0, expired: 0 });
  assert.equal(queue.size, 0);
  assert.deepEqual(queue.drain(0).messages, []);
});

test('when full, the oldest message makes room: the newest 1,000 of 2,500 stay, in order', () => {
  const queue = new OfflineQueue();
  for (const n of range(1, 2500)) queue.push(message(n));
  assert.equal(queue.size, 1000);
  const { messages, losses } = queue.drain(0);
  assert.deepEqual(payloads(messages), range(1501, 2500));
  assert.deepEqual(losses, { overflowed: 1500, expired: 0 });
});

test('a message older than 10 minutes is dropped; one exactly 10 minutes old is still sent', () => {
  const queue = new OfflineQueue();
  queue.push(message(1, 0));
  queue.push(message(2, 1));
  queue.push(message(3, 300_000));
  const { messages, losses } = queue.drain(600_001);
  assert.deepEqual(payloads(messages), [2, 3]);
  assert.deepEqual(losses, { overflowed: 0, expired: 1 });
});

test('whichever bound is hit first applies: age frees room before the count drops anything', () => {
  const queue = new OfflineQueue({ maxMessages: 3, maxAgeMs: 1000 });
  queue.push(message(1, 0));
  queue.push(message(2, 0));
  queue.push(message(3, 500));
  // Messages 1 and 2 are too old by now: they go, and 4 and 5 fit without an overflow.
  queue.push(message(4, 1500));
  queue.push(message(5, 1500));
  assert.deepEqual(queue.losses, { overflowed: 0, expired: 2 });
  queue.push(message(6, 1500));
  assert.deepEqual(queue.losses, { overflowed: 1, expired: 2 });
  assert.deepEqual(payloads(queue.drain(1500).messages), [4, 5, 6]);
});

test('losses are counted per drain (one outage), then start again from zero', () => {
  const queue = new OfflineQueue({ maxMessages: 2, maxAgeMs: 60_000 });
  for (const n of range(1, 5)) queue.push(message(n));
  assert.deepEqual(queue.drain(0).losses, { overflowed: 3, expired: 0 });
  queue.push(message(6));
  assert.deepEqual(queue.drain(0).losses, { overflowed: 0, expired: 0 });
});

test('prune drops only what is too old, and counts it for the next drain', () => {
  const queue = new OfflineQueue({ maxMessages: 10, maxAgeMs: 100 });
  queue.push(message(1, 0));
  queue.push(message(2, 50));
  queue.prune(120);
  assert.equal(queue.size, 1);
  const { messages, losses } = queue.drain(120);
  assert.deepEqual(payloads(messages), [2]);
  assert.deepEqual(losses, { overflowed: 0, expired: 1 });
});

test('a bound that could not hold a message is refused', () => {
  assert.throws(() => new OfflineQueue({ maxMessages: 0, maxAgeMs: 1 }), RangeError);
  assert.throws(() => new OfflineQueue({ maxMessages: 1.5, maxAgeMs: 1 }), RangeError);
  assert.throws(() => new OfflineQueue({ maxMessages: 1, maxAgeMs: 0 }), RangeError);
});
