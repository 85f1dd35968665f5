/**
 * ZoneMinder's web API, for what the database cannot give: event pictures and forcing an alarm.
 * Logs in with `POST <api>/host/login.json`, keeps the access token fresh (the refresh token
 * first, a new login when that fails), sends `?token=` on every request, and backs off while
 * ZoneMinder is unreachable (one warning per outage). Optional: without zoneminder.portal_url
 * nothing is built.
 *
 * The token and the password never reach a log line or an error message: request URLs are not
 * logged, and errors name the kind of request instead.
 */
import { readFileSync } from 'node:fs';
import { OutageGate, type Ticket } from '../../backoff.js';
import type { Clock, Timer } from '../../clock.js';
import type { Config } from '../../config/load.js';
import { errorMessage, ZmesError } from '../../errors.js';
import type { Service } from '../../lifecycle.js';
import type { Logger } from '../../log/logger.js';
import { HttpRequestError, sendRequest, type HttpResponse, type TlsOptions } from './http-request.js';

export interface ZmApiSettings {
  readonly portalUrl: string;
  readonly apiUrl: string;
  /** null: ZoneMinder runs without authentication (ZM_OPT_USE_AUTH off), no login. */
  readonly user: string | null;
  readonly password: string;
  readonly tls: TlsOptions;
  readonly maxPictureBytes: number;
  readonly timeoutMs: number;
}

/** The API settings, or null when zoneminder.portal_url is not set. Throws ZmesError for an unreadable ca_file. */
export function zmApiSettingsFrom(config: Config): ZmApiSettings | null {
  const zm = config.zoneminder;
  if (!zm.portal_url) return null;
  const portalUrl = zm.portal_url.replace(/\/+$/, '');
  let ca: Buffer | undefined;
  if (zm.ca_file) {
    try {
      ca = readFileSync(zm.ca_file);
    } catch (err) {
      throw new ZmesError('ZMES_CONFIG_INVALID', `zoneminder.ca_file ${zm.ca_file} cannot be read: ${errorMessage(err)}`);
    }
  }
  return {
    portalUrl,
    apiUrl: (zm.api_url ?? `${portalUrl}/api`).replace(/\/+$/, ''),
    user: zm.user,
    password: zm.password ?? '',
    tls: { verify: zm.verify_tls, ...(ca === undefined ? {} : { ca }) },
    maxPictureBytes: zm.max_picture_size,
    timeoutMs: 10_000,
  };
}

export type ApiState = 'starting' | 'ok' | 'down' | 'refused';

export interface ApiHealth {
  readonly state: ApiState;
  readonly lastSuccessAt: number | null;
  readonly lastError: string | null;
  readonly lastErrorAt: number | null;
}

/** A request that did not succeed; `message` is for users and logs. */
export class ZmApiError extends Error {
  constructor(
    readonly kind: 'down' | 'refused' | 'disabled' | 'failed' | 'too-large',
    message: string,
  ) {
    super(message);
    this.name = 'ZmApiError';
  }
}

export type PictureFrame = 'snapshot' | 'alarm' | 'objdetect';

interface Tokens {
  access: string;
  accessExpiresAt: number;
  refresh: string | null;
  refreshExpiresAt: number;
}

/** Renew the access token this long before it expires. */
const RENEW_MARGIN_MS = 5 * 60_000;
/** After ZoneMinder refused the login, wait this long before trying again (no lockouts). */
const REFUSED_RETRY_MS = 60_000;

export class ZmApiClient implements Service {
  readonly name = 'zoneminder api';
  private readonly gate = new OutageGate({ initialMs: 1000, maxMs: 60_000, factor: 2, jitter: 0.2 });
  private tokens: Tokens | null = null;
  private login: Promise<string | null> | null = null;
  private refusedUntil = 0;
  private renewTimer: Timer | null = null;
  private stopped = false;
  private state: ApiState = 'starting';
  private lastSuccessAt: number | null = null;
  private lastError: string | null = null;
  private lastErrorAt: number | null = null;

  constructor(
    private readonly settings: ZmApiSettings,
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {}

  /** Logs in in the background: a ZoneMinder that is down does not hold up zmes's start. */
  start(): Promise<void> {
    this.stopped = false;
    this.log.info(`ZoneMinder API ${this.settings.apiUrl}${this.settings.user === null ? ' (no login: ZoneMinder without authentication)' : ` as ${JSON.stringify(this.settings.user)}`}`);
    this.token().catch(() => undefined); // the outcome is logged and kept in health()
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.renewTimer?.cancel();
    this.renewTimer = null;
    return Promise.resolve();
  }

  health(): ApiHealth {
    return { state: this.state, lastSuccessAt: this.lastSuccessAt, lastError: this.lastError, lastErrorAt: this.lastErrorAt };
  }

  /** The JPEG of one frame of an event, or null when ZoneMinder has no such frame (yet). */
  async eventPicture(eventId: bigint, frame: PictureFrame): Promise<Buffer | null> {
    const url = new URL(`${this.settings.portalUrl}/index.php`);
    url.searchParams.set('view', 'image');
    url.searchParams.set('eid', String(eventId));
    url.searchParams.set('fid', frame);
    const response = await this.authorised(`the ${frame} picture of event ${eventId}`, url, this.settings.maxPictureBytes);
    const type = String(response.headers['content-type'] ?? '');
    if (response.status === 200 && type.startsWith('image/') && response.body.length > 0) return response.body;
    if (response.status === 200 || response.status === 404) return null; // ZoneMinder answers a missing frame with text or a 404
    throw new ZmApiError('failed', `ZoneMinder answered ${response.status} for the ${frame} picture of event ${eventId}`);
  }

  /** Forces an alarm on a monitor (`on`) or cancels it (`off`), as ZoneMinder's web UI does. */
  async setAlarm(monitorId: number, command: 'on' | 'off'): Promise<void> {
    const what = `${command === 'on' ? 'force' : 'cancel'} an alarm on monitor ${monitorId}`;
    const url = new URL(`${this.settings.apiUrl}/monitors/alarm/id:${monitorId}/command:${command}.json`);
    const response = await this.authorised(what, url, 64 * 1024);
    // ZoneMinder answers 200 also when zmu failed: {"status":"false","code":255,"error":"…"}.
    if (response.status === 200 && !zmuFailed(response.body)) return;
    throw new ZmApiError('failed', `ZoneMinder could not ${what}: ${response.status} ${apiMessage(response)}`);
  }

  // -------------------------------------------------------------------------------------------

  /** A request with the access token; a 401 gets one new token and one retry. */
  private async authorised(what: string, url: URL, maxBytes: number): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.token();
      const signed = new URL(url);
      if (token !== null) signed.searchParams.set('token', token);
      const response = await this.send(what, signed, { maxBytes });
      if (response.status !== 401 || token === null || attempt > 0) return response;
      this.tokens = this.tokens && { ...this.tokens, accessExpiresAt: 0 }; // rejected: renew it
    }
  }

  /** A valid access token (null without authentication); logs in or renews when needed. */
  private token(): Promise<string | null> {
    if (this.settings.user === null) return Promise.resolve(null);
    const now = this.clock.now();
    if (this.tokens && this.tokens.accessExpiresAt - RENEW_MARGIN_MS > now) return Promise.resolve(this.tokens.access);
    if (this.login) return this.login;
    if (now < this.refusedUntil) {
      return Promise.reject(new ZmApiError('refused', this.lastError ?? 'ZoneMinder refused the login'));
    }
    const renewing = this.renew().finally(() => {
      this.login = null;
    });
    this.login = renewing;
    return renewing;
  }

  private async renew(): Promise<string> {
    const now = this.clock.now();
    const refresh = this.tokens?.refresh && this.tokens.refreshExpiresAt - RENEW_MARGIN_MS > now ? this.tokens.refresh : null;
    if (refresh !== null) {
      try {
        return await this.loginWith({ token: refresh }, 'token renewal');
      } catch (err) {
        if (err instanceof ZmApiError && err.kind === 'down') throw err;
        this.log.debug(() => `ZoneMinder API: the refresh token was not accepted (${errorMessage(err)}); logging in again`);
      }
    }
    return this.loginWith({ user: this.settings.user ?? '', pass: this.settings.password }, 'login');
  }

  private async loginWith(form: Record<string, string>, what: 'login' | 'token renewal'): Promise<string> {
    const response = await this.send(`the ${what}`, new URL(`${this.settings.apiUrl}/host/login.json`), { form, maxBytes: 64 * 1024 });
    const now = this.clock.now();
    if (response.status !== 200) {
      const error = loginFailure(response, this.settings.user ?? '');
      if (what === 'login') {
        this.refusedUntil = now + REFUSED_RETRY_MS;
        this.setState('refused', error.message);
        this.log.error(`ZoneMinder API: ${error.message}`);
      }
      throw error;
    }
    const parsed = parseLogin(response.body, now, this.tokens);
    if (parsed === null) {
      const error = new ZmApiError('failed', `ZoneMinder's ${what} answer has no access token (is ${this.settings.apiUrl} ZoneMinder's API?)`);
      this.setState('refused', error.message);
      this.log.error(`ZoneMinder API: ${error.message}`);
      throw error;
    }
    const first = this.tokens === null || this.state !== 'ok';
    this.tokens = parsed;
    this.refusedUntil = 0;
    this.setState('ok', null);
    if (first) this.log.info(`ZoneMinder API: logged in, the access token is valid for ${Math.round((parsed.accessExpiresAt - now) / 60_000)} min`);
    else this.log.debug(() => `ZoneMinder API: access token renewed (${what})`);
    this.scheduleRenewal();
    return parsed.access;
  }

  /** Renews the token in the background before it expires, so requests never wait for a login. */
  private scheduleRenewal(): void {
    this.renewTimer?.cancel();
    if (this.stopped || this.tokens === null) return;
    const delay = Math.max(1000, this.tokens.accessExpiresAt - RENEW_MARGIN_MS - this.clock.now() + 1000);
    this.renewTimer = this.clock.setTimeout(() => {
      this.renewTimer = null;
      this.token().catch(() => undefined); // logged where it failed; the next request tries again
    }, delay);
  }

  /** One request through the outage gate: fails fast while ZoneMinder is known to be down. */
  private async send(what: string, url: URL, options: { form?: Record<string, string>; maxBytes: number }): Promise<HttpResponse> {
    const admission = this.gate.admit(this.clock.now());
    if (admission.kind === 'reject') throw new ZmApiError('down', `ZoneMinder is unreachable (${admission.reason}); ${what} not attempted`);
    const ticket: Ticket = admission.ticket;
    let response: HttpResponse;
    try {
      response = await sendRequest(url, {
        ...(options.form ? { form: options.form } : {}),
        timeoutMs: this.settings.timeoutMs,
        maxBytes: options.maxBytes,
        tls: this.settings.tls,
      });
    } catch (err) {
      if (err instanceof HttpRequestError && err.kind === 'too-large') {
        this.gate.succeed(ticket, this.clock.now());
        throw new ZmApiError('too-large', `${what}: ${err.message} (zoneminder.max_picture_size)`);
      }
      const reason = err instanceof HttpRequestError && err.kind === 'tls' ? `TLS: ${err.message} (zoneminder.verify_tls, zoneminder.ca_file)` : errorMessage(err);
      const transition = this.gate.fail(ticket, this.clock.now(), reason);
      this.setState('down', reason);
      if (transition.kind === 'outage-started') this.log.warn(`ZoneMinder API unreachable: ${reason}; retrying with backoff`);
      else if (transition.kind === 'probe-failed') this.log.debug(() => `ZoneMinder API still unreachable: ${reason}; next try in ${Math.round(transition.nextProbeInMs / 1000)} s`);
      throw new ZmApiError('down', `ZoneMinder is unreachable (${reason}); ${what} failed`);
    }
    const transition = this.gate.succeed(ticket, this.clock.now());
    if (transition.kind === 'restored') this.log.info(`ZoneMinder API reachable again after ${Math.round(transition.downForMs / 1000)} s`);
    if (isApiDisabled(response)) {
      const message = "ZoneMinder's API is turned off: turn on Options > System > OPT_USE_API in ZoneMinder";
      this.setState('refused', message);
      this.refusedUntil = this.clock.now() + REFUSED_RETRY_MS;
      this.log.error(`ZoneMinder API: ${message}`);
      throw new ZmApiError('disabled', message);
    }
    if (response.status < 500) {
      this.lastSuccessAt = this.clock.now();
      if (this.state === 'down') this.setState(this.tokens || this.settings.user === null ? 'ok' : 'starting', null);
    }
    return response;
  }

  private setState(state: ApiState, error: string | null): void {
    this.state = state;
    if (error !== null) {
      this.lastError = error;
      this.lastErrorAt = this.clock.now();
    }
  }
}

/** The tokens of a login answer, or null when it has none. Lifetimes are in seconds. */
export function parseLogin(body: Buffer, now: number, previous: Tokens | null): Tokens | null {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof json !== 'object' || json === null) return null;
  const answer = json as Record<string, unknown>;
  const access = answer['access_token'];
  if (typeof access !== 'string' || access === '') return null;
  const seconds = (value: unknown, fallback: number) => (typeof value === 'number' && value > 0 ? value : typeof value === 'string' && Number(value) > 0 ? Number(value) : fallback);
  const refresh = typeof answer['refresh_token'] === 'string' && answer['refresh_token'] !== '' ? answer['refresh_token'] : null;
  return {
    access,
    accessExpiresAt: now + seconds(answer['access_token_expires'], 3600) * 1000,
    // A renewal by refresh token returns only a new access token: keep the refresh token.
    refresh: refresh ?? previous?.refresh ?? null,
    refreshExpiresAt: refresh !== null ? now + seconds(answer['refresh_token_expires'], 86_400) * 1000 : (previous?.refreshExpiresAt ?? 0),
  };
}

/** ZoneMinder's own words from an error answer (JSON `message`, `data.name`), shortened; never the request. */
function apiMessage(response: HttpResponse): string {
  const text = response.body.toString('utf8').slice(0, 2000);
  try {
    const json = JSON.parse(text) as { message?: unknown; error?: unknown; data?: { name?: unknown; message?: unknown } };
    const message = json.data?.name ?? json.message ?? json.data?.message ?? json.error;
    if (typeof message === 'string' && message !== '') return message.slice(0, 200);
  } catch {
    // not JSON: fall through
  }
  return text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
}

function loginFailure(response: HttpResponse, user: string): ZmApiError {
  const said = apiMessage(response);
  if (response.status === 401 || response.status === 403) {
    return new ZmApiError(
      'refused',
      `ZoneMinder refused the login of ${JSON.stringify(user)} (${response.status}${said ? `: ${said}` : ''}): check zoneminder.user and zoneminder.password, and that the user has API access`,
    );
  }
  return new ZmApiError('failed', `ZoneMinder's login answered ${response.status}${said ? `: ${said}` : ''}`);
}

function isApiDisabled(response: HttpResponse): boolean {
  if (response.status < 400) return false;
  return /API is disabled|OPT_USE_API|API disabled\b(?! for)/i.test(response.body.toString('utf8').slice(0, 4000));
}

function zmuFailed(body: Buffer): boolean {
  try {
    const json = JSON.parse(body.toString('utf8')) as { status?: unknown };
    return json.status === 'false' || json.status === false;
  } catch {
    return false;
  }
}
