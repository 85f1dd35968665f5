import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeDevices, type PushDevice, type PushRegistry } from '../../../src/push/push-registry.js';
import { pendingMigrations, MIGRATIONS } from '../../../src/cluster/migrations.js';
import { recordFromRow } from '../../../src/cluster/cluster-token-store.js';
import { checkClusterDatabaseName } from '../../../src/cluster/cluster-database.js';

const registry = (name: string): PushRegistry => ({
  name,
  devices: () => Promise.resolve([]),
  prepare: () => Promise.resolve(1),
  delivered: () => Promise.resolve(),
  forget: () => Promise.resolve(),
});
const device = (token: string, from: PushRegistry, updatedAt: number | undefined): PushDevice => ({
  token,
  platform: 'android',
  clientKind: 'zmninjang',
  profile: undefined,
  pushstate: 'enabled',
  zmUser: undefined,
  filter: { monitors: null, intervals: new Map() } as unknown as PushDevice['filter'],
  lastSentAt: () => undefined,
  updatedAt,
  registry: from,
});

test('mergeDevices: one device per token, the newest registration wins, ties and unknown times keep the first registry', () => {
  const file = registry('file');
  const zm = registry('zm');
  const merged = mergeDevices([
    [device('a', file, 100), device('b', file, 300), device('c', file, undefined)],
    [device('a', zm, 200), device('b', zm, 300), device('c', zm, 999), device('d', zm, 1)],
  ]);
  assert.deepEqual(
    merged.map((d) => [d.token, d.registry.name]),
    [['a', 'zm'], ['b', 'file'], ['c', 'file'], ['d', 'zm']],
  );
});

test('pendingMigrations: in version order, without the applied ones', () => {
  const all = [
    { version: 2, name: 'b', statements: [] },
    { version: 1, name: 'a', statements: [] },
    { version: 3, name: 'c', statements: [] },
  ];
  assert.deepEqual(pendingMigrations(new Set([1]), all).map((m) => m.version), [2, 3]);
  assert.deepEqual(pendingMigrations(new Set(), MIGRATIONS).map((m) => m.version), [1]);
});

test('recordFromRow: a row becomes a token record; bad rows say why', () => {
  const { record } = recordFromRow({
    token: 'tok', platform: 'ios', monlist: '1,2', intlist: '0,60', pushstate: 'disabled', appversion: '1.8',
    profile: null, client_kind: 'zmninja', zm_user: 'bob', registered_at: 5, badge: 3,
    invocations_count: 7, invocations_month: 11, last_sent: '{"1":10,"x":"no"}',
  });
  assert.deepEqual(record, {
    token: 'tok', platform: 'ios', monlist: '1,2', intlist: '0,60', pushstate: 'disabled', appversion: '1.8',
    invocations: { count: 7, at: 11 }, profile: undefined, clientKind: 'zmninja', badge: 3, lastSent: { '1': 10 }, zmUser: 'bob', registeredAt: 5,
  });
  assert.equal(recordFromRow({ token: '' }).problem, 'empty token');
  assert.equal(recordFromRow({ token: 't', last_sent: '{' }).problem, 'last_sent is not JSON');
  assert.equal(recordFromRow({ token: 't', last_sent: '{}', client_kind: 'evil' }).record?.clientKind, 'unknown');
});

test('cluster.database must be a plain identifier', () => {
  checkClusterDatabaseName('zmes_cluster1');
  for (const bad of ['', 'zm`; DROP', 'a-b', 'x'.repeat(65)]) assert.throws(() => checkClusterDatabaseName(bad), /not a database name/);
});
