/**
 * Two registries holding the same token (the token file and ZoneMinder's Notifications table,
 * say): the FCM channel pushes once, and the badge, the interval and the removal of a dead token
 * go to the registry whose entry won (the newer registration), never to the other.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from '../../../src/event-bus.js';
import { FcmChannel } from '../../../src/notify/channels/fcm-channel.js';
import { PushDevices } from '../../../src/notify/channels/push-devices.js';
import { ALL_MONITORS } from '../../../src/domain/monitor-filter.js';
import type { ZmesEvents } from '../../../src/domain/bus-events.js';
import type { PushRequest } from '../../../src/push/fcm-payload.js';
import type { FcmSender, PushResult, PushStatus } from '../../../src/push/fcm-sender.js';
import { mergeDevices, type PushDevice, type PushRegistry } from '../../../src/push/push-registry.js';
import { TokenStore } from '../../../src/tokens/token-store.js';
import { VISIBLE_ALL } from '../../../src/zm/auth/permissions.js';
import { memoryLogger } from '../../helpers/memory-log.js';
import { makeNotification, makePayloadOptions } from '../../helpers/push-fixtures.js';

/** A registry holding one device, recording what the channel asks of it. */
class OneDeviceRegistry implements PushRegistry {
  readonly calls: string[] = [];
  readonly device: PushDevice;
  constructor(
    readonly name: string,
    token: string,
    updatedAt: number | undefined,
    private readonly badge: number,
  ) {
    this.device = {
      token, platform: 'ios', clientKind: 'zmninjang', profile: undefined, pushstate: 'enabled', zmUser: undefined,
      filter: ALL_MONITORS, lastSentAt: () => undefined, updatedAt, registry: this,
    };
  }
  devices(): Promise<readonly PushDevice[]> {
    return Promise.resolve([this.device]);
  }
  prepare(): Promise<number | undefined> {
    this.calls.push('prepare');
    return Promise.resolve(this.badge);
  }
  delivered(_device: PushDevice, monitorId: number, phase: string): Promise<void> {
    this.calls.push(`delivered ${monitorId} ${phase}`);
    return Promise.resolve();
  }
  forget(): Promise<void> {
    this.calls.push('forget');
    return Promise.resolve();
  }
}

function channelWith(registries: PushRegistry[], status: PushStatus = 'ok') {
  const log = memoryLogger().log;
  const requests: PushRequest[] = [];
  const sender: Pick<FcmSender, 'send'> = {
    send: async (batch: readonly PushRequest[], onResult?: (result: PushResult) => void) => {
      requests.push(...batch);
      const results = batch.map((request): PushResult => ({ request, token: request.target.token, status, detail: status, attempts: 1 }));
      for (const result of results) onResult?.(result);
      return results;
    },
  };
  // The devices of these registries are not in this store: PushDevices only learns of the push.
  const store = new TokenStore({ path: '/nonexistent/tokens.txt', log });
  const channel = new FcmChannel(new EventBus<ZmesEvents>(log), registries, sender, new PushDevices(store, true, log), makePayloadOptions(), async () => VISIBLE_ALL, log);
  return { channel, requests };
}

test('the same token in two registries is pushed once; the newer entry wins and gets the bookkeeping', async () => {
  const file = new OneDeviceRegistry('token file', 'shared', 1_000, 5);
  const table = new OneDeviceRegistry('table', 'shared', 2_000, 9);
  const { channel, requests } = channelWith([file, table]);
  await channel.deliver(makeNotification({ event: { monitorId: 3 } }));
  assert.equal(requests.length, 1);
  assert.equal(requests[0]!.target.badge, 9, "the winner's badge");
  assert.deepEqual(table.calls, ['prepare', 'delivered 3 start']);
  assert.deepEqual(file.calls, []);
});

test('the other way round: the token file entry is newer, so it gets the push and the bookkeeping', async () => {
  const file = new OneDeviceRegistry('token file', 'shared', 3_000, 5);
  const table = new OneDeviceRegistry('table', 'shared', 2_000, 9);
  const { channel, requests } = channelWith([file, table]);
  await channel.deliver(makeNotification());
  assert.equal(requests.length, 1);
  assert.equal(requests[0]!.target.badge, 5);
  assert.equal(file.calls.length, 2);
  assert.deepEqual(table.calls, []);
});

test('a dead shared token is forgotten by the winning registry only', async () => {
  const file = new OneDeviceRegistry('token file', 'shared', 1_000, 5);
  const table = new OneDeviceRegistry('table', 'shared', 2_000, 9);
  const { channel, requests } = channelWith([file, table], 'invalid-token');
  await channel.deliver(makeNotification());
  assert.equal(requests.length, 1);
  assert.deepEqual(table.calls, ['prepare', 'forget']);
  assert.deepEqual(file.calls, []);
});

test('mergeDevices: a tie or an unknown time keeps the earlier registry', () => {
  const a = new OneDeviceRegistry('a', 't', 1_000, 0);
  const b = new OneDeviceRegistry('b', 't', 1_000, 0);
  const c = new OneDeviceRegistry('c', 't', undefined, 0);
  assert.equal(mergeDevices([[a.device], [b.device]])[0]!.registry, a);
  assert.equal(mergeDevices([[c.device], [a.device]])[0]!.registry, c);
  assert.equal(mergeDevices([[a.device], [c.device]])[0]!.registry, a);
});
