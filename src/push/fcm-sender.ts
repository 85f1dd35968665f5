/**
 * Sends push messages to many devices and says, per device, what happened: `ok`,
 * `invalid-token` (the caller removes it from the token store), `transient` (already retried
 * with exponential backoff and jitter, given up after a few attempts) or `fatal` (our config or
 * payload is wrong; logged once per reason). One interface over two deliveries:
 *   direct — firebase-admin `sendEach()` (HTTP/2) with a service account (fcm-direct.ts);
 *   proxy  — HTTP POST of the classic compact body to `fcm.fcm_v1_url` (fcm-proxy.ts).
 * Mode selection as the classic server: a service-account file means direct, else the proxy;
 * neither configured means push is off (one warning). No URL or key is built in.
 *
 * A failing device never holds up the others: every device's first attempt goes out at once,
 * each result is reported as soon as it is known, and only the failed ones wait for a retry.
 */
import type { App } from 'firebase-admin/app';
import { systemClock, type Clock, type Timer } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { Service } from '../lifecycle.js';
import { maskToken, type Logger } from '../log/logger.js';
import { backoffDelay, type BackoffPolicy } from '../backoff.js';
import type { PushOutcome, PushStatus } from './fcm-errors.js';
import type { PayloadOptions, PushRequest } from './fcm-payload.js';
import { ProxyTransport, type ProxyTransportOptions } from './fcm-proxy.js';
import type { PushTransport } from './push-transport.js';

export type { PushStatus, PushOutcome } from './fcm-errors.js';
export { ProxyTransport } from './fcm-proxy.js';
export type { PushTransport } from './push-transport.js';
export type { PushRequest } from './fcm-payload.js';

export interface PushResult {
  readonly request: PushRequest;
  readonly token: string;
  readonly status: PushStatus;
  readonly detail: string;
  readonly messageId?: string;
  /** Deliveries tried (1 = no retry). */
  readonly attempts: number;
}

export interface RetryPolicy {
  /** Total attempts per device, the first included. */
  readonly attempts: number;
  readonly backoff: BackoffPolicy;
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 4,
  backoff: { initialMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.3 },
};

export interface FcmSenderOptions {
  readonly transport: PushTransport;
  readonly payload: PayloadOptions;
  readonly log: Logger;
  readonly clock?: Clock;
  readonly retry?: RetryPolicy;
  readonly random?: () => number;
  /** Retries that fall due within this window go out together (one HTTP/2 session, not many). */
  readonly retryGatherMs?: number;
}

/** Bookkeeping of one send() call. */
interface Job {
  readonly requests: readonly PushRequest[];
  readonly results: (PushResult | undefined)[];
  readonly attempts: number[];
  /** Retry delay per attempt number, drawn once per job so devices that failed together retry together. */
  readonly delays: Map<number, number>;
  readonly onResult: ((result: PushResult) => void) | undefined;
  remaining: number;
  resolve: (results: PushResult[]) => void;
  readonly startedAt: number;
}

interface Due {
  readonly job: Job;
  readonly index: number;
}

export class FcmSender implements Service {
  readonly name = 'fcm-sender';
  private readonly transport: PushTransport;
  private readonly payload: PayloadOptions;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly retry: RetryPolicy;
  private readonly random: () => number;
  private readonly gatherMs: number;
  private readonly waiting = new Map<Timer, Due>();
  private due: Due[] = [];
  private gatherTimer: Timer | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly loggedFatal = new Set<string>();
  private stopped = false;

  constructor(options: FcmSenderOptions) {
    this.transport = options.transport;
    this.payload = options.payload;
    this.log = options.log;
    this.clock = options.clock ?? systemClock;
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.random = options.random ?? Math.random;
    this.gatherMs = options.retryGatherMs ?? 10;
  }

  get mode(): 'direct' | 'proxy' {
    return this.transport.mode;
  }

  /** Direct mode builds the firebase App here: a missing or broken service-account file throws ZmesError ZMES_CONFIG_INVALID. */
  async start(_signal?: AbortSignal): Promise<void> {
    this.stopped = false;
    await this.transport.start();
    this.log.info(`FCM push: ${this.transport.describe()}`);
  }

  /** Cancels pending retries (reported as transient), waits for requests in flight, closes the transport. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.gatherTimer?.cancel();
    this.gatherTimer = undefined;
    const cancelled = [...this.waiting.values(), ...this.due];
    for (const timer of this.waiting.keys()) timer.cancel();
    this.waiting.clear();
    this.due = [];
    for (const { job, index } of cancelled) this.finish(job, index, { status: 'transient', detail: 'server stopping; retry cancelled' });
    await Promise.allSettled([...this.inFlight]);
    await this.transport.stop();
  }

  /**
   * Pushes to every device in `batch`. `onResult` fires once per device as soon as its outcome is
   * final (so the caller can remove dead tokens or record the send without waiting for slow
   * retries of others); the promise resolves with all results, in batch order.
   */
  send(batch: readonly PushRequest[], onResult?: (result: PushResult) => void): Promise<PushResult[]> {
    if (batch.length === 0) return Promise.resolve([]);
    return new Promise<PushResult[]>((resolve) => {
      const job: Job = {
        requests: batch,
        results: new Array<PushResult | undefined>(batch.length).fill(undefined),
        attempts: new Array<number>(batch.length).fill(0),
        delays: new Map(),
        onResult,
        remaining: batch.length,
        resolve,
        startedAt: this.clock.now(),
      };
      if (this.stopped) {
        batch.forEach((_, i) => this.finish(job, i, { status: 'transient', detail: 'FCM sender stopped' }));
        return;
      }
      this.attempt(batch.map((_, index) => ({ job, index })));
    });
  }

  /** One delivery attempt for these devices (possibly of different jobs). */
  private attempt(items: readonly Due[]): void {
    for (const item of items) item.job.attempts[item.index]!++;
    const requests = items.map((item) => item.job.requests[item.index]!);
    const answered = new Array<boolean>(items.length).fill(false);
    const onOutcome = (i: number, outcome: PushOutcome) => {
      if (answered[i] !== false) return; // out of range or a second answer: a transport bug, ignored
      answered[i] = true;
      this.handle(items[i]!, outcome);
    };
    const run = (async () => {
      try {
        await this.transport.deliver(requests, this.payload, onOutcome);
      } catch (err) {
        this.log.error(`push delivery failed unexpectedly: ${err instanceof Error ? err.message : String(err)}`);
      }
      // Whatever went wrong, the caller must not wait forever for a device nobody answered for.
      items.forEach((item, i) => {
        if (!answered[i]) this.finish(item.job, item.index, { status: 'fatal', detail: 'internal error: no delivery outcome', key: 'internal' });
      });
    })();
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  private handle(item: Due, outcome: PushOutcome): void {
    const { job, index } = item;
    if (job.results[index] !== undefined) return;
    const attempts = job.attempts[index]!;
    if (outcome.status !== 'transient' || attempts >= this.retry.attempts || this.stopped) {
      this.finish(job, index, outcome);
      return;
    }
    let delay = job.delays.get(attempts);
    if (delay === undefined) {
      delay = backoffDelay(attempts - 1, this.retry.backoff, this.random);
      job.delays.set(attempts, delay);
    }
    if (outcome.retryAfterMs !== undefined) delay = Math.min(this.retry.backoff.maxMs, Math.max(delay, outcome.retryAfterMs));
    const token = job.requests[index]!.target.token;
    this.log.debug(() => `push to ${maskToken(token)} failed (${outcome.detail}); retry ${attempts} in ${delay} ms`);
    const timer = this.clock.setTimeout(() => {
      this.waiting.delete(timer);
      this.due.push(item);
      this.gatherTimer ??= this.clock.setTimeout(() => this.flushDue(), this.gatherMs);
    }, delay);
    this.waiting.set(timer, item);
  }

  private flushDue(): void {
    this.gatherTimer = undefined;
    const due = this.due;
    this.due = [];
    if (due.length > 0 && !this.stopped) this.attempt(due);
  }

  private finish(job: Job, index: number, outcome: PushOutcome): void {
    if (job.results[index] !== undefined) return;
    const request = job.requests[index]!;
    const result: PushResult = {
      request,
      token: request.target.token,
      status: outcome.status,
      detail: outcome.detail,
      ...(outcome.messageId === undefined ? {} : { messageId: outcome.messageId }),
      attempts: Math.max(1, job.attempts[index]!),
    };
    job.results[index] = result;
    job.remaining--;
    this.report(result, outcome);
    try {
      job.onResult?.(result);
    } catch (err) {
      this.log.error(`push result handler failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (job.remaining === 0) this.complete(job);
  }

  private report(result: PushResult, outcome: PushOutcome): void {
    const who = maskToken(result.token);
    switch (result.status) {
      case 'ok':
        this.loggedFatal.clear(); // a later recurrence of a config problem is worth a new line
        this.log.debug(() => `push sent to ${who} (${result.request.target.platform})`);
        break;
      case 'invalid-token':
        this.log.debug(() => `push to ${who}: FCM rejects the token (${result.detail})`);
        break;
      case 'transient':
        this.log.debug(() => `push to ${who} gave up after ${result.attempts} attempts (${result.detail})`);
        break;
      case 'fatal': {
        const key = outcome.key ?? result.detail;
        if (!this.loggedFatal.has(key)) {
          this.loggedFatal.add(key);
          this.log.error(`push failed: ${result.detail} (further failures of this kind are logged at debug level)`);
        } else {
          this.log.debug(() => `push to ${who} failed: ${result.detail}`);
        }
        break;
      }
    }
  }

  private complete(job: Job): void {
    const results = job.results as PushResult[];
    const count = (status: PushStatus) => results.filter((r) => r.status === status).length;
    const failed = count('transient');
    const summary = `${count('ok')} ok, ${count('invalid-token')} invalid, ${failed} failed, ${count('fatal')} refused`;
    if (failed > 0) {
      const first = results.find((r) => r.status === 'transient')!;
      this.log.warn(`push: ${failed} of ${results.length} devices not reached after ${this.retry.attempts} attempts (${first.detail}); ${summary}`);
    } else {
      this.log.debug(() => `push: ${summary} in ${this.clock.now() - job.startedAt} ms`);
    }
    job.resolve(results);
  }
}

// ---------------------------------------------------------------------------------------------
// Mode selection and construction from the configuration

export type FcmMode =
  | { readonly kind: 'direct'; readonly serviceAccountFile: string }
  | { readonly kind: 'proxy'; readonly url: string; readonly key: string }
  | { readonly kind: 'disabled'; readonly reason: string };

/** Which delivery the configuration asks for (classic: a service-account file wins). Pure. */
export function selectFcmMode(fcm: Config['fcm']): FcmMode {
  if (!fcm.enable) return { kind: 'disabled', reason: 'fcm.enable is off' };
  const file = fcm.fcm_service_account_file?.trim();
  if (file) return { kind: 'direct', serviceAccountFile: file };
  const url = fcm.fcm_v1_url?.trim();
  const key = fcm.fcm_v1_key?.trim();
  if (url && key) return { kind: 'proxy', url, key };
  const missing = url ? 'fcm.fcm_v1_key' : key ? 'fcm.fcm_v1_url' : 'fcm.fcm_service_account_file (direct) or fcm.fcm_v1_url + fcm.fcm_v1_key (proxy)';
  return { kind: 'disabled', reason: `no push delivery configured: set ${missing}` };
}

export interface CreateFcmSenderOptions {
  readonly fcm: Config['fcm'];
  readonly payload: PayloadOptions;
  readonly log: Logger;
  readonly clock?: Clock;
  readonly retry?: RetryPolicy;
  /** Use this App instead of the service-account file (tests; custom credentials). */
  readonly app?: App;
  /** Extra proxy settings (an agent trusting a test CA, timeouts). */
  readonly proxy?: Omit<ProxyTransportOptions, 'url' | 'key'>;
}

/**
 * The sender the configuration asks for, or undefined when push is off (logged once here:
 * a warning when fcm.enable is on but nothing is configured). Does no I/O: in direct mode the
 * service-account file is read by start(). Asynchronous because firebase-admin (tens of
 * megabytes once loaded) is imported only in direct mode; the proxy mode never loads it.
 */
export async function createFcmSender(options: CreateFcmSenderOptions): Promise<FcmSender | undefined> {
  const mode = options.app === undefined ? selectFcmMode(options.fcm) : ({ kind: 'direct', serviceAccountFile: '' } as const);
  if (mode.kind === 'disabled') {
    if (options.fcm.enable) options.log.warn(`FCM push is disabled: ${mode.reason}. WebSocket and MQTT notifications still work`);
    else options.log.info('FCM push is disabled (fcm.enable is off)');
    return undefined;
  }
  const transport =
    mode.kind === 'direct'
      ? new (await import('./fcm-direct.js')).DirectTransport(options.app !== undefined ? { app: options.app } : { serviceAccountFile: mode.serviceAccountFile })
      : new ProxyTransport({ ...options.proxy, url: mode.url, key: mode.key });
  return new FcmSender({
    transport,
    payload: options.payload,
    log: options.log,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.retry === undefined ? {} : { retry: options.retry }),
  });
}
