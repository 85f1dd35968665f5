// The Supervisor's MQTT service lookup against a stub Supervisor on loopback: the broker
// when there is one, and a reason (never an exception) when there is none.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { lookupMqttService, parseMqttService } from '../../addon/supervisor.js';

let server: Server;
let baseUrl: string;
let answer: { status: number; body: string } = { status: 200, body: '' };
const seen: IncomingMessage[] = [];

before(async () => {
  server = createServer((req, res) => {
    seen.push(req);
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const reply = (status: number, body: unknown) => {
  answer = { status, body: typeof body === 'string' ? body : JSON.stringify(body) };
};

describe('lookupMqttService', () => {
  it('returns the broker of GET /services/mqtt, sending the Supervisor token', async () => {
    reply(200, { result: 'ok', data: { host: 'core-mosquitto', port: 1883, ssl: false, protocol: '3.1.1', username: 'addons', password: 'pw', addon: 'core_mosquitto' } });
    const lookup = await lookupMqttService({ baseUrl, token: 'tok-123' });
    assert.deepEqual(lookup, { ok: true, service: { host: 'core-mosquitto', port: 1883, ssl: false, username: 'addons', password: 'pw' } });
    const request = seen.at(-1)!;
    assert.equal(request.url, '/services/mqtt');
    assert.equal(request.method, 'GET');
    assert.equal(request.headers.authorization, 'Bearer tok-123');
  });

  it('says no broker add-on is installed on HTTP 400 "Service not enabled"', async () => {
    reply(400, { result: 'error', message: 'Service not enabled' });
    const lookup = await lookupMqttService({ baseUrl, token: 't' });
    assert.equal(lookup.ok, false);
    assert.match(!lookup.ok ? lookup.reason : '', /no MQTT broker add-on is installed \(Supervisor: Service not enabled\)/);
  });

  it('reports 403, 404 and 500 with their status', async () => {
    for (const [status, pattern] of [[403, /refused.*HTTP 403/], [404, /no MQTT service \(HTTP 404/], [500, /HTTP 500/]] as const) {
      reply(status, { result: 'error', message: 'nope' });
      const lookup = await lookupMqttService({ baseUrl, token: 't' });
      assert.equal(lookup.ok, false, String(status));
      assert.match(!lookup.ok ? lookup.reason : '', pattern);
    }
  });

  it('copes with an answer that is not JSON or has no host', async () => {
    reply(200, '<html>');
    assert.deepEqual(await lookupMqttService({ baseUrl, token: 't' }), { ok: false, reason: 'the Supervisor sent an MQTT service answer that is not JSON' });
    reply(200, { result: 'ok', data: { port: 1883 } });
    assert.equal((await lookupMqttService({ baseUrl, token: 't' })).ok, false);
  });

  it('copes with an unreachable Supervisor and with no token at all, without a request', async () => {
    const count = seen.length;
    const none = await lookupMqttService({ baseUrl, token: undefined });
    assert.equal(none.ok, false);
    assert.match(!none.ok ? none.reason : '', /SUPERVISOR_TOKEN is not set/);
    assert.equal(seen.length, count);
    const gone = await lookupMqttService({ baseUrl: 'http://127.0.0.1:1', token: 't', timeoutMs: 2000 });
    assert.equal(gone.ok, false);
    assert.match(!gone.ok ? gone.reason : '', /not reachable/);
  });
});

describe('parseMqttService', () => {
  it('accepts a numeric string port and treats empty credentials as absent', () => {
    assert.deepEqual(parseMqttService(JSON.stringify({ result: 'ok', data: { host: 'h', port: '1884', ssl: true, username: '', password: '' } })), {
      ok: true,
      service: { host: 'h', port: 1884, ssl: true, username: undefined, password: undefined },
    });
    assert.equal(parseMqttService(JSON.stringify({ result: 'ok', data: { host: 'h', port: 0 } })).ok, false);
  });
});
