/**
 * The Supervisor's services API, as far as the add-on needs it: which MQTT broker Home
 * Assistant offers (`GET /services/mqtt`, allowed by `services: [mqtt:want]` in config.yaml).
 * Never throws: every failure becomes a reason for the log, and the add-on runs without MQTT.
 */
import type { MqttService } from '../src/config/addon-options.js';

export const DEFAULT_SUPERVISOR_API = 'http://supervisor';

export interface SupervisorClientOptions {
  /** `http://supervisor` in the container; a stub on loopback in tests. */
  readonly baseUrl: string;
  /** `SUPERVISOR_TOKEN`, handed to the add-on by the Supervisor (with-contenv). */
  readonly token: string | undefined;
  readonly timeoutMs?: number;
}

export type MqttLookup = { readonly ok: true; readonly service: MqttService } | { readonly ok: false; readonly reason: string };

/** Asks the Supervisor for the MQTT broker; `ok: false` says why there is none. */
export async function lookupMqttService(options: SupervisorClientOptions): Promise<MqttLookup> {
  if (!options.token) return { ok: false, reason: 'SUPERVISOR_TOKEN is not set (not running under the Home Assistant Supervisor)' };
  const url = `${options.baseUrl.replace(/\/+$/, '')}/services/mqtt`;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { authorization: `Bearer ${options.token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
    return { ok: false, reason: `the Supervisor at ${options.baseUrl} is not reachable (${cause})` };
  }
  const text = await response.text().catch(() => '');
  const message = supervisorMessage(text);
  switch (response.status) {
    case 200:
      break;
    case 400:
      // "Service not enabled": no add-on provides MQTT (e.g. Mosquitto not installed).
      return { ok: false, reason: `no MQTT broker add-on is installed (Supervisor: ${message ?? 'HTTP 400'}); install the Mosquitto broker add-on or set mqtt_server` };
    case 401:
    case 403:
      return { ok: false, reason: `the Supervisor refused the MQTT service lookup (HTTP ${response.status}${message ? `: ${message}` : ''})` };
    case 404:
      return { ok: false, reason: `the Supervisor has no MQTT service (HTTP 404${message ? `: ${message}` : ''})` };
    default:
      return { ok: false, reason: `the Supervisor answered HTTP ${response.status}${message ? `: ${message}` : ''}` };
  }
  return parseMqttService(text);
}

/** `{"result":"ok","data":{host,port,ssl,username,password,...}}` → MqttService. */
export function parseMqttService(text: string): MqttLookup {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'the Supervisor sent an MQTT service answer that is not JSON' };
  }
  const data = isRecord(body) && body['result'] === 'ok' && isRecord(body['data']) ? body['data'] : null;
  if (data === null) return { ok: false, reason: 'the Supervisor sent an MQTT service answer without data' };
  const host = data['host'];
  const port = typeof data['port'] === 'string' ? Number(data['port']) : data['port'];
  if (typeof host !== 'string' || host.trim() === '' || typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    return { ok: false, reason: 'the Supervisor sent an MQTT service answer without a valid host and port' };
  }
  const text_ = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    ok: true,
    service: { host: host.trim(), port, ssl: data['ssl'] === true, username: text_(data['username']), password: text_(data['password']) },
  };
}

function supervisorMessage(text: string): string | undefined {
  try {
    const body: unknown = JSON.parse(text);
    if (isRecord(body) && typeof body['message'] === 'string' && body['message'] !== '') return body['message'];
  } catch {
    // not JSON: no message
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
