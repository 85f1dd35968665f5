import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { WebSocket } from 'uWebSockets.js';
import { Pacer } from '../../../src/pacer.js';
import { SessionHandler } from '../../../src/ws/session-handler.js';
import { Connection } from '../../../src/ws/connection.js';
import type { Session } from '../../../src/ws/session.js';
import { LoginLimiter } from '../../../src/zm/auth/login-limiter.js';
import { Authenticator, type AuthOutcome } from '../../../src/zm/auth/authenticator.js';
import { manualClock } from '../../helpers/manual-clock.js';
import { memoryLogger } from '../../helpers/memory-log.js';

/** A socket that keeps what is sent to it. */
function recordingSocket(sent: string[]): WebSocket<{ connection: Connection<Session> }> {
  const socket = {
    send: (frame: string | Uint8Array) => {
      sent.push(typeof frame === 'string' ? frame : Buffer.from(frame).toString('utf8'));
      return 1;
    },
    cork: (fn: () => void) => {
      fn();
      return socket;
    },
    end: () => undefined,
    getBufferedAmount: () => 0,
  };
  return socket as unknown as WebSocket<{ connection: Connection<Session> }>;
}

describe('the work after a login goes through the pacer', () => {
  test('logins that resume together from one password check are answered over several loop turns', async () => {
    const clock = manualClock(0);
    const turns: Array<() => void> = [];
    // Every task costs 1 ms of the 2 ms budget: two logins finish per turn.
    let now = 0;
    const pacer = new Pacer(2, () => (now += 1), (fn) => turns.push(fn));
    let release!: (outcome: AuthOutcome) => void;
    const oneCheck = new Promise<AuthOutcome>((resolve) => (release = resolve));
    const authenticator = { authenticate: () => oneCheck } as unknown as Authenticator;
    const limiter = new LoginLimiter({ maxFailures: 0, maxFailuresPerUser: 0, maxFailuresPerAddress: 0, windowMs: 60_000 }, clock);
    const handler = new SessionHandler(
      { authEnabled: true, authTimeoutSec: 20, pushEnabled: false, escontrolEnabled: false, maxFrameBytes: 65_536 },
      authenticator,
      limiter,
      clock,
      memoryLogger().log,
      pacer,
    );
    const sent: string[][] = [];
    const connections = Array.from({ length: 6 }, (_, i) => {
      sent.push([]);
      const connection = new Connection<Session>(i, '192.0.2.1', undefined, handler.createSession(), () => undefined);
      connection.attach(recordingSocket(sent[i]!));
      handler.onOpen(connection);
      handler.onMessage(connection, JSON.stringify({ event: 'auth', data: { user: 'alice', password: 'pw' } }), false);
      return connection;
    });
    assert.equal(sent.flat().length, 0, 'nobody is answered before the password check ends');
    release({ ok: true, user: Authenticator.anonymous('alice'), cached: false });
    await new Promise((resolve) => setImmediate(resolve));
    const answered = () => sent.filter((frames) => frames.some((frame) => frame.includes('"status":"Success"'))).length;
    const perTurn: number[] = [answered()];
    while (turns.length > 0) {
      turns.shift()!();
      perTurn.push(answered());
    }
    assert.deepEqual(perTurn.slice(0, 3), [2, 4, 6], `answered after each turn: ${perTurn.join(',')}`);
    assert.equal(answered(), connections.length);
    assert.ok(connections.every((connection) => connection.session.state === 'authenticated'));
  });
});
