// Device ownership of push tokens (src/notify/channels/push-devices.ts): who owns a token, which
// frame a connection gets for an alarm, the TOKENRATE/TOKENQUOTA/TOKENSTOREFULL refusals and
// what a refused frame leaves behind.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PushDevices, DEFAULT_MAX_TOKEN_FRAMES } from '../../../src/notify/channels/push-devices.js';
import { alarmFramesOf } from '../../../src/notify/channels/ws-channel.js';
import { MemoryLastSent } from '../../../src/notify/throttle.js';
import { TokenStore } from '../../../src/tokens/token-store.js';
import { Connection } from '../../../src/ws/connection.js';
import * as frames from '../../../src/ws/frames.js';
import type { PushTokenMessage } from '../../../src/ws/protocol.js';
import { NO_SIGNALS } from '../../../src/ws/protocol.js';
import { newSession, type PushRegistration, type Session } from '../../../src/ws/session.js';
import { ALL_MONITORS, parseMonitorFilter } from '../../../src/domain/monitor-filter.js';
import type { ChannelName, Notification } from '../../../src/domain/notification.js';
import { VISIBLE_ALL } from '../../../src/zm/auth/permissions.js';
import { manualClock, type ManualClock } from '../../helpers/manual-clock.js';
import { memoryLogger, type MemoryLogger } from '../../helpers/memory-log.js';
import { makeNotification } from '../../helpers/push-fixtures.js';

type FakeSocket = Parameters<Connection<Session>['attach']>[0];

interface Client {
  connection: Connection<Session>;
  sent: string[];
}

let nextId = 1;

function client(user: 'alice' | 'bob' | 'anonymous' = 'alice'): Client {
  const session = newSession();
  session.state = 'authenticated';
  session.user =
    user === 'anonymous'
      ? { name: 'someone', id: null, visibility: VISIBLE_ALL, via: 'auth-disabled' }
      : { name: user, id: user === 'alice' ? 1 : 2, visibility: VISIBLE_ALL, via: 'password' };
  const connection = new Connection<Session>(nextId++, '192.0.2.7', undefined, session, () => {});
  const sent: string[] = [];
  const socket = { send: (frame: string | Uint8Array) => (sent.push(typeof frame === 'string' ? frame : Buffer.from(frame).toString('utf8')), 1), cork: (fn: () => void) => fn(), getBufferedAmount: () => 0, end: () => {} };
  connection.attach(socket as unknown as FakeSocket);
  return { connection, sent };
}

function tokenFrame(token: string, overrides: Partial<PushTokenMessage> = {}): PushTokenMessage {
  return {
    kind: 'push-token',
    event: 'push',
    token,
    platform: 'android',
    state: 'enabled',
    monlist: undefined,
    intlist: undefined,
    profile: undefined,
    signals: NO_SIGNALS,
    topLevelToken: undefined,
    ...overrides,
  } as PushTokenMessage;
}

function registration(message: PushTokenMessage): PushRegistration {
  return { token: message.token, platform: message.platform, state: message.state, profile: message.profile };
}

interface Fixture {
  store: TokenStore;
  devices: PushDevices;
  clock: ManualClock;
  logs: MemoryLogger;
  /** Sends a token frame the way the session layer does: it records the registration first. */
  register(c: Client, message: PushTokenMessage): void;
}

function fixture(
  t: { after(fn: () => void): void },
  options: { pushActive?: boolean; maxTokenFrames?: number; maxTokens?: number; maxDevicesPerUser?: number } = {},
): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'zmes-push-devices-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const clock = manualClock(1_000_000);
  const logs = memoryLogger('debug');
  const store = new TokenStore({
    path: join(dir, 'tokens.json'),
    log: logs.log,
    clock,
    writeDelayMs: 3_600_000,
    ...(options.maxTokens === undefined ? {} : { maxTokens: options.maxTokens }),
    ...(options.maxDevicesPerUser === undefined ? {} : { maxDevicesPerUser: options.maxDevicesPerUser }),
  });
  const devices = new PushDevices(store, options.pushActive ?? true, logs.log, {
    clock,
    ...(options.maxTokenFrames === undefined ? {} : { maxTokenFrames: options.maxTokenFrames }),
  });
  return {
    store,
    devices,
    clock,
    logs,
    register(c, message) {
      c.connection.session.push = registration(message);
      devices.tokenRegistered(c.connection, registration(message), message);
    },
  };
}

function notification(channels: ChannelName[] = ['web', 'fcm']): Notification {
  return { ...makeNotification(), channels: new Set(channels) };
}

describe('PushDevices: ownership', () => {
  test('the connection that registered a token owns it, while it is open and authenticated', (t) => {
    const f = fixture(t);
    const a = client();
    assert.equal(f.devices.owner('tok-1'), undefined);
    f.register(a, tokenFrame('tok-1'));
    assert.equal(f.devices.owner('tok-1'), a.connection);
    a.connection.session.state = 'closing';
    assert.equal(f.devices.owner('tok-1'), undefined, 'a connection told to go away owns nothing');
    a.connection.session.state = 'authenticated';
    a.connection.markClosed();
    assert.equal(f.devices.owner('tok-1'), undefined, 'a closed connection owns nothing');
  });

  test('the newest registration of a token takes it over; the older socket gets no alarms', (t) => {
    const f = fixture(t);
    const old = client();
    const newer = client();
    f.register(old, tokenFrame('tok-1'));
    f.register(newer, tokenFrame('tok-1'));
    assert.equal(f.devices.owner('tok-1'), newer.connection);
    assert.equal(f.devices.chooseFrame(old.connection, notification()), 'none');
    assert.equal(f.logs.grep(new RegExp(`moved from connection #${old.connection.id} to #${newer.connection.id}`)).length, 1);
    // Registering again on the owner itself is no move.
    f.register(newer, tokenFrame('tok-1'));
    assert.equal(f.logs.grep(/moved from/).length, 1);
  });

  test('no move is logged when the previous owner is already closed', (t) => {
    const f = fixture(t);
    const old = client();
    f.register(old, tokenFrame('tok-1'));
    old.connection.markClosed();
    f.register(client(), tokenFrame('tok-1'));
    assert.equal(f.logs.grep(/moved from/).length, 0);
  });

  test('a re-authentication or a close releases every token of the connection', (t) => {
    const f = fixture(t);
    const a = client();
    const b = client();
    f.register(a, tokenFrame('tok-1'));
    f.register(b, tokenFrame('tok-2'));
    f.devices.authenticated(a.connection);
    assert.equal(f.devices.owner('tok-1'), undefined);
    assert.equal(f.devices.owner('tok-2'), b.connection, 'other connections keep theirs');
    f.devices.closed(b.connection);
    assert.equal(f.devices.owner('tok-2'), undefined);
  });

  test('a superseded socket gets nothing, even when the token is disabled for pushes', (t) => {
    const f = fixture(t);
    const old = client();
    const newer = client();
    f.register(old, tokenFrame('tok-1', { state: 'disabled' }));
    f.register(newer, tokenFrame('tok-1', { state: 'disabled' }));
    assert.equal(f.devices.chooseFrame(old.connection, notification()), 'none');
    assert.equal(f.devices.chooseFrame(newer.connection, notification()), 'normal');
  });

  test('a session without a user registers a token without a ZoneMinder user', (t) => {
    const f = fixture(t);
    const a = client();
    a.connection.session.user = undefined;
    f.register(a, tokenFrame('tok-1'));
    assert.equal(f.store.get('tok-1')?.zmUser, undefined);
  });

  test('the registration records the ZoneMinder user, except for logins with auth turned off', (t) => {
    const f = fixture(t);
    f.register(client('bob'), tokenFrame('tok-bob'));
    f.register(client('anonymous'), tokenFrame('tok-anon'));
    assert.equal(f.store.get('tok-bob')?.zmUser, 'bob');
    assert.equal(f.store.get('tok-anon')?.zmUser, undefined);
    const appless = client();
    appless.connection.session.appVersion = '1.2.3';
    appless.connection.session.clientKind = 'zmninjang';
    f.register(appless, tokenFrame('tok-app', { platform: 'ios', state: 'disabled', profile: 'home' }));
    const record = f.store.get('tok-app')!;
    assert.deepEqual([record.platform, record.pushstate, record.profile, record.appversion, record.clientKind], ['ios', 'disabled', 'home', '1.2.3', 'zmninjang']);
  });
});

describe('PushDevices: monitor lists of a token frame', () => {
  test('the frame’s lists are stored and become the connection’s filter', (t) => {
    const f = fixture(t);
    const a = client();
    f.register(a, tokenFrame('tok-1', { monlist: '1,2', intlist: '30' }));
    assert.deepEqual([f.store.get('tok-1')?.monlist, f.store.get('tok-1')?.intlist], ['1,2', '30']);
    assert.deepEqual(a.connection.session.filter, parseMonitorFilter('1,2', '30,0').filter);
  });

  test('a frame with a monlist and no intlist stores an empty intlist', (t) => {
    const f = fixture(t);
    const a = client();
    f.register(a, tokenFrame('tok-1', { monlist: '1', intlist: '60' }));
    f.register(a, tokenFrame('tok-1', { monlist: '3' }));
    assert.deepEqual([f.store.get('tok-1')?.monlist, f.store.get('tok-1')?.intlist], ['3', '']);
  });

  test('without lists in the frame, the connection’s explicit lists are stored', (t) => {
    const f = fixture(t);
    const a = client();
    a.connection.session.lists = { monlist: '4', intlist: '10' };
    f.register(a, tokenFrame('tok-1'));
    assert.deepEqual([f.store.get('tok-1')?.monlist, f.store.get('tok-1')?.intlist], ['4', '10']);
  });

  test('without any lists the stored ones are kept and become the filter', (t) => {
    const f = fixture(t);
    f.store.register({ token: 'tok-1', platform: 'android', monlist: '5', intlist: '20', zmUser: 'alice' });
    const a = client();
    assert.equal(a.connection.session.filter, ALL_MONITORS);
    f.register(a, tokenFrame('tok-1'));
    assert.deepEqual([f.store.get('tok-1')?.monlist, f.store.get('tok-1')?.intlist], ['5', '20']);
    assert.deepEqual(a.connection.session.filter, parseMonitorFilter('5', '20').filter);
  });

  test('a filter frame is stored only for the token’s owner', (t) => {
    const f = fixture(t);
    const old = client();
    const owner = client();
    f.register(old, tokenFrame('tok-1'));
    f.register(owner, tokenFrame('tok-1'));
    f.devices.filterChanged(old.connection, { monlist: '9', intlist: '1' });
    assert.equal(f.store.get('tok-1')?.monlist, '');
    f.devices.filterChanged(owner.connection, { monlist: '7', intlist: '15' });
    assert.deepEqual([f.store.get('tok-1')?.monlist, f.store.get('tok-1')?.intlist], ['7', '15']);
    f.devices.filterChanged(client().connection, { monlist: '8', intlist: '' }); // no token at all
    assert.equal(f.store.get('tok-1')?.monlist, '7');
  });

  test('a badge frame goes to the connection’s token, else to the frame’s top-level token', (t) => {
    const f = fixture(t);
    const a = client();
    f.register(a, tokenFrame('tok-1'));
    f.store.register({ token: 'tok-2', platform: 'ios', zmUser: 'alice' });
    f.devices.badgeSet(a.connection, 4, 'tok-2');
    assert.deepEqual([f.store.get('tok-1')?.badge, f.store.get('tok-2')?.badge], [4, 0]);
    f.devices.badgeSet(client().connection, 6, 'tok-2');
    assert.equal(f.store.get('tok-2')?.badge, 6);
    f.devices.badgeSet(client().connection, 7, undefined);
    assert.deepEqual([f.store.get('tok-1')?.badge, f.store.get('tok-2')?.badge], [4, 6]);
  });
});

describe('PushDevices: which frame an alarm takes', () => {
  test('a connection without a token gets the normal frame', (t) => {
    const f = fixture(t);
    assert.equal(f.devices.chooseFrame(client().connection, notification()), 'normal');
  });

  test('the owner of an enabled token gets nothing on the socket while the push goes out', (t) => {
    const f = fixture(t);
    const a = client();
    f.register(a, tokenFrame('tok-1'));
    assert.equal(f.devices.chooseFrame(a.connection, notification()), 'none');
  });

  test('the owner gets the normal frame when its token is disabled, FCM is off, or the alarm skips FCM', (t) => {
    const f = fixture(t);
    const a = client();
    f.register(a, tokenFrame('tok-1', { state: 'disabled' }));
    assert.equal(f.devices.chooseFrame(a.connection, notification()), 'normal', 'disabled token');
    f.register(a, tokenFrame('tok-1'));
    assert.equal(f.devices.chooseFrame(a.connection, notification(['web'])), 'normal', 'no fcm channel');
    f.store.remove('tok-1', 'test');
    assert.equal(f.devices.chooseFrame(a.connection, notification()), 'normal', 'token gone from the store');

    const inactive = fixture(t, { pushActive: false });
    const b = client();
    inactive.register(b, tokenFrame('tok-2'));
    assert.equal(inactive.devices.chooseFrame(b.connection, notification()), 'normal', 'pushes inactive');
  });

  test('after the push the owner gets the supplementary copy, or the normal alarm when the push failed', (t) => {
    const f = fixture(t);
    const a = client();
    f.register(a, tokenFrame('tok-1'));
    const n = notification();
    f.devices.afterPush('tok-1', n, true);
    f.devices.afterPush('tok-1', n, false);
    assert.deepEqual(a.sent, [alarmFramesOf(n).supplementary, alarmFramesOf(n).normal]);
    f.devices.afterPush('tok-unknown', n, true);
    a.connection.markClosed();
    f.devices.afterPush('tok-1', n, true);
    assert.equal(a.sent.length, 2);
  });
});

describe('PushDevices: interval state', () => {
  test('token keys live with the token in the store, other keys in memory', (t) => {
    const f = fixture(t);
    f.store.register({ token: 'tok-1', platform: 'android', zmUser: 'alice' });
    const memory = new MemoryLastSent();
    const store = f.devices.lastSentStore(memory);
    store.set('token:tok-1', 3, 111);
    store.set('conn:5', 3, 222);
    assert.equal(f.store.lastSent('tok-1', 3), 111);
    assert.equal(memory.get('conn:5', 3), 222);
    assert.equal(memory.get('token:tok-1', 3), undefined);
    assert.equal(store.get('token:tok-1', 3), 111);
    assert.equal(store.get('conn:5', 3), 222);
    assert.equal(store.get('conn:6', 3), undefined);
    store.forget('token:tok-1');
    assert.equal(f.store.lastSent('tok-1', 3), 111, 'a token’s interval outlives the connection');
    store.forget('conn:5');
    assert.equal(memory.get('conn:5', 3), undefined);
  });
});

describe('PushDevices: refusals', () => {
  test('at most maxTokenFrames token frames per connection per minute (TOKENRATE)', (t) => {
    const f = fixture(t, { maxTokenFrames: 3 });
    const a = client();
    for (let i = 0; i < 3; i++) f.register(a, tokenFrame(`tok-${i}`));
    assert.deepEqual(a.sent, []);
    f.register(a, tokenFrame('tok-3'));
    assert.deepEqual(a.sent, [frames.PUSH_TOKENRATE]);
    assert.equal(f.store.get('tok-3'), undefined);
    // One warning per flood; later refusals go to the debug log.
    f.register(a, tokenFrame('tok-4'));
    assert.equal(f.logs.lines.filter((l) => l.level.includes('warn') && /TOKENRATE/.test(l.message)).length, 1);
    assert.equal(f.logs.lines.filter((l) => l.level.includes('debug') && /TOKENRATE/.test(l.message)).length, 1);
    assert.equal(f.logs.grep(/more than 3 token frames in a minute/).length, 2);
    // Other connections are not limited by it.
    const b = client();
    f.register(b, tokenFrame('tok-b'));
    assert.deepEqual(b.sent, []);
  });

  test('the rate window slides: a frame is let through a minute after the oldest counted one', (t) => {
    const f = fixture(t, { maxTokenFrames: 2 });
    const a = client();
    f.register(a, tokenFrame('tok-1'));
    f.clock.advance(30_000);
    f.register(a, tokenFrame('tok-1'));
    f.clock.advance(29_999);
    f.register(a, tokenFrame('tok-1'));
    assert.equal(a.sent.length, 1, '59.999 s after the first frame: refused');
    f.clock.advance(1);
    f.register(a, tokenFrame('tok-1'));
    assert.equal(a.sent.length, 1, '60 s after the first frame: accepted');
    // A refused frame does not count, and after an accepted one the next flood warns again.
    f.register(a, tokenFrame('tok-1'));
    assert.equal(a.sent.length, 2);
    f.clock.advance(60_000);
    f.register(a, tokenFrame('tok-1'));
    f.register(a, tokenFrame('tok-1'));
    f.register(a, tokenFrame('tok-1'));
    assert.equal(a.sent.length, 3);
    // Each refusal above followed an accepted frame, so each warned.
    assert.equal(f.logs.lines.filter((l) => l.level.includes('warn') && /TOKENRATE/.test(l.message)).length, 3);
  });

  test('a closed connection’s rate count is forgotten', (t) => {
    const f = fixture(t, { maxTokenFrames: 1 });
    const a = client();
    f.register(a, tokenFrame('tok-1'));
    f.devices.closed(a.connection);
    f.register(a, tokenFrame('tok-1'));
    assert.deepEqual(a.sent, []);
  });

  test('the default is DEFAULT_MAX_TOKEN_FRAMES frames a minute', (t) => {
    const f = fixture(t);
    const a = client();
    for (let i = 0; i < DEFAULT_MAX_TOKEN_FRAMES; i++) f.register(a, tokenFrame('tok-1'));
    assert.deepEqual(a.sent, []);
    f.register(a, tokenFrame('tok-1'));
    assert.deepEqual(a.sent, [frames.PUSH_TOKENRATE]);
  });

  test('a refused frame leaves the connection with the registration and filter it had', (t) => {
    const f = fixture(t, { maxDevicesPerUser: 1 });
    const a = client();
    f.register(a, tokenFrame('tok-1', { monlist: '1', intlist: '0' }));
    const before = a.connection.session.push;
    const filter = a.connection.session.filter;
    // The session layer applied the refused frame's lists and registration already.
    a.connection.session.filter = parseMonitorFilter('2', '0').filter;
    f.register(a, tokenFrame('tok-2', { monlist: '2' }));
    assert.deepEqual(a.sent, [frames.PUSH_TOKENQUOTA]);
    assert.equal(a.connection.session.push, before);
    assert.deepEqual(a.connection.session.filter, filter);
    assert.equal(f.devices.owner('tok-1'), a.connection);
    assert.equal(f.devices.owner('tok-2'), undefined);
    assert.equal(f.logs.grep(/TOKENQUOTA/).length, 1);
  });

  test('every quota refusal is a warning, and does not quieten a later TOKENRATE warning', (t) => {
    const f = fixture(t, { maxDevicesPerUser: 1, maxTokenFrames: 3 });
    const a = client();
    f.register(a, tokenFrame('tok-1'));
    f.register(a, tokenFrame('tok-2'));
    f.register(a, tokenFrame('tok-3'));
    f.register(a, tokenFrame('tok-4'));
    assert.deepEqual(a.sent, [frames.PUSH_TOKENQUOTA, frames.PUSH_TOKENQUOTA, frames.PUSH_TOKENRATE]);
    const warnings = f.logs.lines.filter((l) => l.level.includes('warn'));
    assert.equal(warnings.filter((l) => /TOKENQUOTA/.test(l.message)).length, 2);
    assert.equal(warnings.filter((l) => /TOKENRATE/.test(l.message)).length, 1);
  });

  test('a refused first frame leaves the connection with no registration', (t) => {
    const f = fixture(t, { maxTokens: 1 });
    f.store.register({ token: 'tok-0', platform: 'android', zmUser: 'bob' });
    const a = client();
    f.register(a, tokenFrame('tok-1'));
    assert.deepEqual(a.sent, [frames.PUSH_TOKENSTOREFULL]);
    assert.equal(a.connection.session.push, undefined);
    assert.equal(f.devices.chooseFrame(a.connection, notification()), 'normal');
  });

  test('a connection that lost its token to a newer one is not restored to it', (t) => {
    const f = fixture(t, { maxTokens: 1 });
    const a = client();
    const b = client();
    f.register(a, tokenFrame('tok-1'));
    f.register(b, tokenFrame('tok-1'));
    f.register(a, tokenFrame('tok-2'));
    assert.deepEqual(a.sent, [frames.PUSH_TOKENSTOREFULL]);
    assert.equal(a.connection.session.push, undefined);
  });

  test('an invalid token is logged and leaves the connection as it was, without a reply', (t) => {
    const f = fixture(t);
    const a = client();
    f.register(a, tokenFrame('tok-1'));
    const before = a.connection.session.push;
    f.register(a, tokenFrame('x'.repeat(5000)));
    assert.deepEqual(a.sent, []);
    assert.equal(a.connection.session.push, before);
    assert.equal(f.logs.grep(/token of 5000 characters/).length, 1);
  });
});
