import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecentLog, recordingLogger } from '../../../src/status/recent-log.js';
import { memoryLogger } from '../../helpers/memory-log.js';

test('warnings and errors are kept newest first, within the capacity; info and debug are not', () => {
  let now = 1000;
  const recent = new RecentLog(() => now++, 3);
  const logs = memoryLogger('debug');
  const log = recordingLogger(logs.log, recent, []);
  log.info('started');
  log.debug('detail');
  for (let i = 1; i <= 4; i++) log.warn(`warning ${i}`);
  log.error('broken');
  assert.deepEqual(
    recent.recent().map((r) => `${r.level} ${r.message}`),
    ['error broken', 'warn warning 4', 'warn warning 3'],
  );
  assert.equal(logs.lines.length, 7, 'every line still reaches the real log');
});

test('lines are recorded under their module, and the newest line of a set of modules is found beyond the ring', () => {
  let now = 0;
  const recent = new RecentLog(() => (now += 10), 2);
  const log = recordingLogger(memoryLogger('info').log, recent, []);
  log.child('db').error('database unreachable');
  log.child('events').warn('event 7 too old');
  for (let i = 0; i < 5; i++) log.child('ws').warn(`noise ${i}`);
  assert.equal(recent.lastOf(['db', 'events'])?.message, 'event 7 too old');
  assert.equal(recent.lastOf(['db'])?.module, 'db');
  assert.equal(recent.lastOf(['mqtt']), undefined);
  assert.ok(recent.recent().every((r) => r.module === 'ws'));
});

test('secrets are replaced and control characters escaped, as in the log file', () => {
  const recent = new RecentLog();
  const log = recordingLogger(memoryLogger('info').log, recent, ['hunter2', 'x']);
  log.child('mqtt').error('login as zm with hunter2 refused\nfake line');
  const [record] = recent.recent();
  assert.equal(record?.message, 'login as zm with *** refused\\nfake line');
});

test('very long messages are cut; listeners hear of every line', () => {
  const recent = new RecentLog();
  let heard = 0;
  const dispose = recent.onAdd(() => heard++);
  recent.add('warn', undefined, 'x'.repeat(2000));
  assert.ok(recent.recent()[0]!.message.length <= 501);
  dispose();
  recent.add('warn', undefined, 'again');
  assert.equal(heard, 1);
});
