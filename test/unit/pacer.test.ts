import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pacer } from '../../src/pacer.js';

/** A pacer on a hand-driven clock and turn queue: `work(ms)` is what a task costs. */
function fixture(budgetMs: number) {
  let now = 0;
  const turns: Array<() => void> = [];
  const pacer = new Pacer(budgetMs, () => now, (fn) => turns.push(fn));
  const ran: Array<{ id: number; deferred: boolean; turn: number }> = [];
  let turn = 0;
  const task = (id: number, costMs: number) => (deferred: boolean) => {
    ran.push({ id, deferred, turn });
    now += costMs;
  };
  const nextTurn = () => {
    turn++;
    const due = turns.splice(0);
    for (const fn of due) fn();
  };
  return { pacer, ran, task, nextTurn, turns };
}

test('within the budget every task runs at once', () => {
  const f = fixture(5);
  for (let id = 0; id < 4; id++) f.pacer.run(f.task(id, 1));
  assert.deepEqual(f.ran.map((r) => [r.id, r.deferred]), [[0, false], [1, false], [2, false], [3, false]]);
  assert.equal(f.pacer.waiting, 0);
});

test('a burst is spread over turns, each doing about the budget, in order', () => {
  const f = fixture(5);
  for (let id = 0; id < 12; id++) f.pacer.run(f.task(id, 2));
  // 0, 1, 2 run (the third starts at 4 ms, under 5); the rest waits.
  assert.deepEqual(f.ran.map((r) => r.id), [0, 1, 2]);
  assert.equal(f.pacer.waiting, 9);
  f.nextTurn();
  assert.deepEqual(f.ran.slice(3).map((r) => [r.id, r.deferred, r.turn]), [[3, true, 1], [4, true, 1], [5, true, 1]]);
  while (f.pacer.waiting > 0) f.nextTurn();
  assert.deepEqual(f.ran.map((r) => r.id), [...Array(12).keys()]);
  assert.ok(Math.max(...[...Array(f.ran.at(-1)!.turn + 1).keys()].map((t) => f.ran.filter((r) => r.turn === t).length)) <= 3);
});

test('a task arriving while others wait queues behind them, even with budget left', () => {
  const f = fixture(5);
  f.pacer.run(f.task(0, 6));
  f.pacer.run(f.task(1, 0));
  f.nextTurn();
  f.pacer.run(f.task(2, 0));
  assert.deepEqual(f.ran.map((r) => r.id), [0, 1, 2]);
});

test('a new turn has a full budget again', () => {
  const f = fixture(5);
  f.pacer.run(f.task(0, 10));
  f.nextTurn(); // ends the turn of task 0
  f.pacer.run(f.task(1, 1));
  assert.deepEqual(f.ran.map((r) => [r.id, r.deferred]), [[0, false], [1, false]]);
});

test('a throwing task does not strand the ones behind it', () => {
  const f = fixture(1);
  f.pacer.run(f.task(0, 2));
  f.pacer.run(() => {
    throw new Error('boom');
  });
  f.pacer.run(f.task(2, 0));
  f.nextTurn();
  assert.deepEqual(f.ran.map((r) => r.id), [0, 2]);
});
