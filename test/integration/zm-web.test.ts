/**
 * The ZoneMinder web fixture (test/helpers/zm-web.ts): ZoneMinder 1.36's own PHP API and web UI
 * from Debian's package, behind a private Apache, answer plain HTTP requests as a ZoneMinder
 * server does. The exact answers asserted here are the ones listed at the top of the helper.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { jwtVerify } from 'jose';
import { ZmSimulator } from '../../dev/sim/zm-simulator.js';
import { createZmTestDatabase, type ZmTestDatabase } from '../helpers/zm-db.js';
import { startZmWeb, type ZmWeb } from '../helpers/zm-web.js';
import { insertZmUser, zmPasswordHash } from '../helpers/zmes-server.js';

/** A 20×20 JPEG (left half red, right half blue), small enough to inline, real enough for GD. */
const JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQEAYABgAAD//gA7Q1JFQVRPUjogZ2QtanBlZyB2MS4wICh1c2luZyBJSkcgSlBFRyB2NjIpLCBxdWFsaXR5ID0gODAK/9sAQwAGBAUGBQQGBgUGBwcGCAoQCgoJCQoUDg8MEBcUGBgXFBYWGh0lHxobIxwWFiAsICMmJykqKRkfLTAtKDAlKCko/9sAQwEHBwcKCAoTCgoTKBoWGigoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgo/8AAEQgAFAAUAwEiAAIRAQMRAf/EAB8AAAEFAQEBAQEBAAAAAAAAAAABAgMEBQYHCAkKC//EALUQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/EAB8BAAMBAQEBAQEBAQEAAAAAAAABAgMEBQYHCAkKC//EALURAAIBAgQEAwQHBQQEAAECdwABAgMRBAUhMQYSQVEHYXETIjKBCBRCkaGxwQkjM1LwFWJy0QoWJDThJfEXGBkaJicoKSo1Njc4OTpDREVGR0hJSlNUVVZXWFlaY2RlZmdoaWpzdHV2d3h5eoKDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uLj5OXm5+jp6vLz9PX29/j5+v/aAAwDAQACEQMRAD8A4Cuf1X/j/l/D+QroK5/Vf+P+X8P5CvQ4I/3+f+B/+lRPt+L/APcof4l+UirRRRX6ifnB1Vc/qv8Ax/y/h/IUUV+XcEf7/P8AwP8A9Kifo/F/+5Q/xL8pFWiiiv1E/OD/2Q==',
  'base64',
);

/** Every request has a deadline: a hung server fails the test instead of hanging it. */
const TIMEOUT_MS = 10_000;

interface Answer {
  status: number;
  type: string;
  body: Buffer;
  headers: Headers;
  json(): Record<string, unknown>;
  text(): string;
}

async function get(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  const body = Buffer.from(await response.arrayBuffer());
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    body,
    headers: response.headers,
    json: () => JSON.parse(body.toString('utf8')) as Record<string, unknown>,
    text: () => body.toString('utf8'),
  };
}

function post(url: string, form: Record<string, string>): Promise<Answer> {
  return get(url, { method: 'POST', body: new URLSearchParams(form) });
}

/** ZoneMinder's API error body (CakePHP's exception renderer, debug off). */
function apiError(name: string, url: string, code = 401, className = 'UnauthorizedException', rawMessage = name) {
  return { success: false, data: { name, message: name, url, exception: { class: className, code, message: rawMessage } } };
}

function jwtPart(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

const JSON_TYPE = 'application/json; charset=UTF-8';

let db: ZmTestDatabase;
let zm: ZmWeb;
let sim: ZmSimulator;
let monitorId: number;
let eventId: bigint;
let access: string;
let refresh: string;
let startMs: number;

before(async () => {
  db = await createZmTestDatabase();
  sim = await ZmSimulator.create(db.pool);
  monitorId = await sim.createMonitor({ name: 'Front' });
  eventId = await sim.startEvent(monitorId);
  await sim.endEvent(eventId);
  // Users as the zmes tests insert them (insertZmUser: APIEnabled=1, Monitors='View').
  await insertZmUser(db.execute, { username: 'alice', passwordHash: await zmPasswordHash('s3cret', 'bcrypt-2y') });
  await insertZmUser(db.execute, { username: 'nomon', passwordHash: await zmPasswordHash('s3cret', 'bcrypt-2b') });
  await db.execute("UPDATE Users SET Monitors = 'None' WHERE Username = 'nomon'");
  const started = performance.now();
  zm = await startZmWeb({ db });
  startMs = Math.round(performance.now() - started);
  // Tokens for the tests below (the first test checks the login itself).
  const login = await post(`${zm.apiUrl}/host/login.json`, { user: 'alice', pass: 's3cret' });
  assert.equal(login.status, 200, login.text());
  access = String(login.json()['access_token']);
  refresh = String(login.json()['refresh_token']);
});

after(async () => {
  await zm?.stop();
  await db?.drop();
});

describe('login.json', () => {
  test('user/pass: access and refresh tokens signed with ZM_AUTH_HASH_SECRET', async (t) => {
    t.diagnostic(`fixture started in ${startMs} ms`);
    const answer = await post(`${zm.apiUrl}/host/login.json`, { user: 'alice', pass: 's3cret' });
    assert.equal(answer.status, 200);
    assert.equal(answer.type, JSON_TYPE);
    const body = answer.json();
    assert.deepEqual(Object.keys(body), [
      'access_token',
      'access_token_expires',
      'refresh_token',
      'refresh_token_expires',
      'credentials',
      'append_password',
      'version',
      'apiversion',
    ]);
    assert.equal(body['access_token_expires'], 7200);
    assert.equal(body['refresh_token_expires'], 86400);
    // Legacy credentials: the auth= hash needs a session (stateful=1), so it is empty here.
    assert.equal(body['credentials'], 'auth=');
    assert.equal(body['append_password'], 0);
    assert.equal(body['version'], '1.36.33');
    assert.equal(body['apiversion'], '2.0');

    const key = new TextEncoder().encode(zm.secret);
    const tokens = [[String(body['access_token']), 'access', 7200], [String(body['refresh_token']), 'refresh', 86400]] as const;
    for (const [token, type, ttl] of tokens) {
      assert.deepEqual(jwtPart(token, 0), { typ: 'JWT', alg: 'HS256' });
      const payload = jwtPart(token, 1);
      assert.deepEqual(Object.keys(payload), ['iss', 'iat', 'exp', 'user', 'type']);
      assert.deepEqual({ ...payload, iat: 0, exp: 0 }, { iss: 'ZoneMinder', iat: 0, exp: 0, user: 'alice', type });
      assert.equal(Number(payload['exp']) - Number(payload['iat']), ttl);
      assert.ok(Math.abs(Number(payload['iat']) - Date.now() / 1000) < 60, 'iat is now');
      await jwtVerify(token, key, { algorithms: ['HS256'], issuer: 'ZoneMinder' });
    }
  });

  test('wrong password and unknown user: 401 with ZoneMinder\'s message', async () => {
    const wrong = await post(`${zm.apiUrl}/host/login.json`, { user: 'alice', pass: 'wrong' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.type, JSON_TYPE);
    // name/message go through CakePHP's h(): the quotes come back as &quot;.
    assert.deepEqual(wrong.json(), apiError('Login denied for user &quot;alice&quot;', '/zm/api/host/login.json', 401, 'UnauthorizedException', 'Login denied for user "alice"'));
    const unknown = await post(`${zm.apiUrl}/host/login.json`, { user: 'mallory', pass: 's3cret' });
    assert.equal(unknown.status, 401);
    assert.deepEqual(unknown.json(), apiError('Could not retrieve user mallory details', '/zm/api/host/login.json'));
    const nothing = await post(`${zm.apiUrl}/host/login.json`, {});
    assert.equal(nothing.status, 401);
    assert.deepEqual(nothing.json(), apiError('Not Authenticated', '/zm/api/host/login.json'));
  });

  test('token=<refresh token> gives a new access token (no refresh token); an access token there is refused', async () => {
    const answer = await post(`${zm.apiUrl}/host/login.json`, { token: refresh });
    assert.equal(answer.status, 200);
    const body = answer.json();
    assert.deepEqual(Object.keys(body), ['access_token', 'access_token_expires', 'credentials', 'append_password', 'version', 'apiversion']);
    assert.equal(body['access_token_expires'], 7200);
    const payload = jwtPart(String(body['access_token']), 1);
    assert.equal(payload['type'], 'access');
    assert.equal(payload['user'], 'alice');
    await jwtVerify(String(body['access_token']), new TextEncoder().encode(zm.secret), { algorithms: ['HS256'] });

    const wrongType = await post(`${zm.apiUrl}/host/login.json`, { token: access });
    assert.equal(wrongType.status, 401);
    assert.deepEqual(wrongType.json(), apiError('Incorrect token type', '/zm/api/host/login.json'));
  });
});

describe('monitors.json', () => {
  test('?token=<access> lists the simulator monitor', async () => {
    const answer = await get(`${zm.apiUrl}/monitors.json?token=${access}`);
    assert.equal(answer.status, 200);
    assert.equal(answer.type, JSON_TYPE);
    const monitors = answer.json()['monitors'] as { Monitor: Record<string, unknown>; Monitor_Status: Record<string, unknown> }[];
    assert.equal(monitors.length, 1);
    assert.deepEqual(Object.keys(monitors[0] ?? {}), ['Monitor', 'Monitor_Status', 'Event_Summary']);
    // PHP 8's PDO returns numbers as numbers: Id is 1, not "1".
    assert.equal(monitors[0]?.Monitor['Id'], monitorId);
    assert.equal(monitors[0]?.Monitor['Name'], 'Front');
    assert.equal(monitors[0]?.Monitor['Function'], 'Modect');
    assert.equal(monitors[0]?.Monitor_Status['Status'], 'Connected');
  });

  test('without a token, with a refresh token, or for a user with Monitors=None: 401', async () => {
    const none = await get(`${zm.apiUrl}/monitors.json`);
    assert.equal(none.status, 401);
    assert.deepEqual(none.json(), apiError('Not Authenticated', '/zm/api/monitors.json'));
    const url = `${zm.apiUrl}/monitors.json?token=${refresh}`;
    const wrongType = await get(url);
    assert.equal(wrongType.status, 401);
    assert.deepEqual(wrongType.json(), apiError('Incorrect token type', new URL(url).pathname + new URL(url).search));

    const login = await post(`${zm.apiUrl}/host/login.json`, { user: 'nomon', pass: 's3cret' });
    assert.equal(login.status, 200, 'a Monitors=None user still logs in');
    const denied = await get(`${zm.apiUrl}/monitors.json?token=${String(login.json()['access_token'])}`);
    assert.equal(denied.status, 401);
    assert.equal((denied.json()['data'] as Record<string, unknown>)['name'], 'Insufficient Privileges');
  });
});

describe('index.php?view=image', () => {
  const imageUrl = (fid: string, token: string, extra = '') => `${zm.portalUrl}/index.php?view=image&eid=${eventId}&fid=${fid}${extra}&token=${token}`;

  test('no picture file (and no frames, no video): 404 with an empty body', async () => {
    const answer = await get(imageUrl('snapshot', access));
    assert.equal(answer.status, 404);
    assert.equal(answer.body.length, 0);
  });

  test('snapshot, alarm and objdetect: the bytes writeEventImage wrote, as image/jpeg', async () => {
    for (const fid of ['snapshot', 'alarm', 'objdetect'] as const) {
      const jpeg = Buffer.concat([JPEG, Buffer.from(fid)]); // a different file per fid
      const file = await zm.writeEventImage(eventId, fid, jpeg);
      const [row] = await db.query('SELECT MonitorId, DATE(StartDateTime) AS Day FROM Events WHERE Id = ?', [eventId]);
      // Medium scheme (Storage row 1): <Storage.Path>/<MonitorId>/<YYYY-MM-DD>/<EventId>/<fid>.jpg
      assert.equal(file, join(zm.eventsDir, String(row?.['MonitorId']), String(row?.['Day']), String(eventId), `${fid}.jpg`));
      const answer = await get(imageUrl(fid, access));
      assert.equal(answer.status, 200, `${fid}: ${answer.text().slice(0, 200)}`);
      assert.equal(answer.type, 'image/jpeg');
      // <MonitorId>_<EventId>_<Frame->FrameId()>.jpg; objdetect's stand-in frame has FrameId 0.
      const frame = fid === 'objdetect' ? '0' : fid;
      assert.equal(answer.headers.get('content-disposition'), `inline; filename="${monitorId}_${eventId}_${frame}.jpg"`);
      assert.deepEqual(answer.body, jpeg);
    }
  });

  test('Deep and Shallow storage schemes: the picture is found where Event.php looks', async () => {
    // Deep: <MonitorId>/<yy>/<mm>/<dd>/<HH>/<MM>/<SS> of the start; Shallow: <MonitorId>/<EventId>.
    const folders = {
      Deep: (_id: bigint, start: string) => [String(monitorId), ...start.slice(2, 19).split(/[- :]/)].join('/'),
      Shallow: (id: bigint) => `${monitorId}/${id}`,
    };
    for (const [scheme, folder] of Object.entries(folders)) {
      const id = await sim.startEvent(monitorId);
      await sim.endEvent(id);
      await db.execute('UPDATE Events SET Scheme = ? WHERE Id = ?', [scheme, id]);
      const [row] = await db.query('SELECT StartDateTime FROM Events WHERE Id = ?', [id]);
      const file = await zm.writeEventImage(id, 'snapshot', JPEG);
      assert.equal(file, join(zm.eventsDir, folder(id, String(row?.['StartDateTime'])), 'snapshot.jpg'));
      const answer = await get(`${zm.portalUrl}/index.php?view=image&eid=${id}&fid=snapshot&token=${access}`);
      assert.equal(answer.status, 200, `${scheme}: ${answer.text().slice(0, 200)}`);
      assert.deepEqual(answer.body, JPEG);
    }
  });

  test('width=…: a scaled JPEG made by GD, cached next to the picture', async () => {
    await zm.writeEventImage(eventId, 'snapshot', JPEG);
    const answer = await get(imageUrl('snapshot', access, '&width=10'));
    assert.equal(answer.status, 200);
    assert.equal(answer.type, 'image/jpeg');
    assert.equal(answer.headers.get('content-disposition'), `inline; filename="${monitorId}_${eventId}_snapshot-10x10.jpg"`);
    assert.deepEqual([...answer.body.subarray(0, 2)], [0xff, 0xd8]);
    assert.notDeepEqual(answer.body, JPEG);
    const snapshot = await zm.writeEventImage(eventId, 'snapshot', JPEG);
    assert.ok(existsSync(join(dirname(snapshot), 'snapshot-10x10.jpg')));
  });

  test('a refresh token is accepted too (the web UI takes any token type); a bad or missing token gets an HTML page', async () => {
    const withRefresh = await get(imageUrl('snapshot', refresh));
    assert.equal(withRefresh.status, 200);
    assert.equal(withRefresh.type, 'image/jpeg');
    for (const token of ['not-a-jwt', '']) {
      const answer = await get(imageUrl('snapshot', token));
      assert.equal(answer.status, 200);
      assert.equal(answer.type, 'text/html; charset=UTF-8');
      assert.match(answer.text(), /<title>ZM - (Login|Error)<\/title>/);
    }
  });
});

describe('monitors/alarm', () => {
  const alarm = (command: string, token: string, mid = monitorId) => get(`${zm.apiUrl}/monitors/alarm/id:${mid}/command:${command}.json?token=${token}`);

  test('command:on runs zmu -v -m<id> -a -T <token>; the emulated daemon starts a Forced Web event', async () => {
    const calls = zm.zmuCalls().length;
    const [last] = await db.query('SELECT MAX(Id) AS Id FROM Events WHERE MonitorId = ?', [monitorId]);
    const answer = await alarm('on', access);
    assert.equal(answer.status, 200);
    assert.equal(answer.type, JSON_TYPE);
    const [forced] = await db.query('SELECT Id, Cause, Notes, EndDateTime FROM Events WHERE MonitorId = ? ORDER BY Id DESC LIMIT 1', [monitorId]);
    assert.ok(forced && forced['Id'] !== last?.['Id'], 'a new event');
    assert.deepEqual([forced['Cause'], forced['Notes'], forced['EndDateTime']], ['Forced Web', 'Forced Web: ', null]);
    const id = String(forced['Id']);
    assert.deepEqual(answer.json(), {
      status: `Alarmed event id: ${id}`,
      output: `Monitor ${monitorId}(Front)\nForcing alarm on current state: Idle, event ${String(last?.['Id'])}\nAlarmed event id: ${id}`,
    });
    assert.deepEqual(zm.zmuCalls().slice(calls), [['-v', `-m${monitorId}`, '-a', '-T', access]]);

    const status = await alarm('status', access);
    assert.deepEqual(status.json(), { status: 2, output: 2 });
    assert.deepEqual(zm.zmuCalls().at(-1), [`-m${monitorId}`, '-s', '-T', access]);

    const off = await alarm('off', access);
    assert.equal(off.status, 200);
    assert.deepEqual(off.json(), { status: 'Cancelling forced alarm on/off', output: `Monitor ${monitorId}(Front)\nCancelling forced alarm on/off` });
    assert.deepEqual(zm.zmuCalls().at(-1), ['-v', `-m${monitorId}`, '-c', '-T', access]);
    const [ended] = await db.query('SELECT EndDateTime FROM Events WHERE Id = ?', [forced['Id'] as bigint]);
    assert.notEqual(ended?.['EndDateTime'], null, 'the forced event ended');
    assert.deepEqual((await alarm('status', access)).json(), { status: 0, output: 0 });
  });

  test('an unknown monitor (404) or a Monitors=None user (401) never reaches zmu', async () => {
    const calls = zm.zmuCalls().length;
    const unknown = await alarm('on', access, 999);
    assert.equal(unknown.status, 404);
    assert.equal((unknown.json()['data'] as Record<string, unknown>)['name'], 'Invalid monitor');
    const login = await post(`${zm.apiUrl}/host/login.json`, { user: 'nomon', pass: 's3cret' });
    const denied = await alarm('on', String(login.json()['access_token']));
    assert.equal(denied.status, 401);
    assert.equal((denied.json()['data'] as Record<string, unknown>)['name'], 'Insufficient Privileges');
    assert.equal(zm.zmuCalls().length, calls);
  });

  test('zmu failing: 200 with status "false", its exit code and stdout', async () => {
    // zmu refuses a monitor whose Function is None (its "capture daemon" does not run).
    const idle = await sim.createMonitor({ name: 'Off', function: 'None' });
    const none = await alarm('on', access, idle);
    assert.equal(none.status, 200);
    assert.deepEqual(none.json(), { status: 'false', code: 255, error: `Monitor ${idle}(Off)\nCurrent state: None` });

    // Legacy user=&pass= makes the API pass -A <auth hash>, which the stand-in does not emulate (exit 255).
    const answer = await get(`${zm.apiUrl}/monitors/alarm/id:${monitorId}/command:on.json?user=alice&pass=s3cret`);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json(), { status: 'false', code: 255, error: '' });
    const call = zm.zmuCalls().at(-1);
    assert.deepEqual(call?.slice(0, 4), ['-v', `-m${monitorId}`, '-a', '-A']);
  });
});

describe('ZM_OPT_USE_API=0', () => {
  let offDb: ZmTestDatabase;
  let off: ZmWeb;

  before(async () => {
    offDb = await createZmTestDatabase();
    await insertZmUser(offDb.execute, { username: 'alice', passwordHash: await zmPasswordHash('s3cret', 'bcrypt-2y') });
    off = await startZmWeb({ db: offDb, api: false });
  });

  after(async () => {
    await off?.stop();
    await offDb?.drop();
  });

  test('every API request, login included, is refused with 401 "API Disabled"', async () => {
    const login = await post(`${off.apiUrl}/host/login.json`, { user: 'alice', pass: 's3cret' });
    assert.equal(login.status, 401);
    assert.equal(login.type, JSON_TYPE);
    assert.deepEqual(login.json(), apiError('API Disabled', '/zm/api/host/login.json'));
    const monitors = await get(`${off.apiUrl}/monitors.json`);
    assert.equal(monitors.status, 401);
    assert.deepEqual(monitors.json(), apiError('API Disabled', '/zm/api/monitors.json'));
  });
});
