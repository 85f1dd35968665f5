/**
 * Direct delivery through firebase-admin (`fcm.fcm_service_account_file`): FCM HTTP v1,
 * `sendEach()` over one HTTP/2 connection per batch, all messages of a batch concurrently.
 * The firebase App is injected (tests route it to a fake FCM) or built at start from the
 * service-account file, which is validated then so that a bad file is a startup error rather
 * than a failure at the first alarm.
 */
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { cert, deleteApp, initializeApp, type App } from 'firebase-admin/app';
import { getMessaging, type BatchResponse, type TokenMessage } from 'firebase-admin/messaging';
import { errorMessage, ZmesError } from '../errors.js';
import { classifyFirebaseError, type PushOutcome } from './fcm-errors.js';
import { buildDirectMessage, type PayloadOptions, type PushRequest } from './fcm-payload.js';
import type { PushTransport } from './push-transport.js';

/** sendEach() refuses more than this many messages per call. */
export const FCM_MAX_BATCH = 500;

export interface ServiceAccount {
  readonly projectId: string;
  readonly clientEmail: string;
  readonly privateKey: string;
}

/**
 * Reads and checks a Google service-account JSON file. Throws ZmesError ZMES_CONFIG_INVALID
 * naming the file and what is wrong (never its content).
 */
export function loadServiceAccount(path: string): ServiceAccount {
  const fail = (what: string, cause?: unknown): never => {
    throw new ZmesError('ZMES_CONFIG_INVALID', `fcm.fcm_service_account_file ${path}: ${what}`, { cause });
  };
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    fail(`cannot be read (${errorMessage(err)})`, err);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    fail('is not valid JSON (expected the service-account key file downloaded from the Firebase console)', err);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('is not a JSON object');
  const obj = json as Record<string, unknown>;
  const field = (name: string): string => {
    const value = obj[name];
    if (typeof value !== 'string' || value.trim() === '') fail(`has no "${name}"; is this a service-account key file?`);
    return value as string;
  };
  const account = { projectId: field('project_id'), clientEmail: field('client_email'), privateKey: field('private_key') };
  try {
    createPrivateKey(account.privateKey);
  } catch (err) {
    fail(`"private_key" is not a usable PEM private key (${errorMessage(err)})`, err);
  }
  return account;
}

let appCounter = 0;

/** A firebase App for a service account, under its own name (never the default app). */
export function createFirebaseApp(account: ServiceAccount): App {
  try {
    return initializeApp(
      { credential: cert({ projectId: account.projectId, clientEmail: account.clientEmail, privateKey: account.privateKey }), projectId: account.projectId },
      `zmes-fcm-${process.pid}-${++appCounter}`,
    );
  } catch (err) {
    throw new ZmesError('ZMES_CONFIG_INVALID', `fcm.fcm_service_account_file: firebase-admin rejected it (${errorMessage(err)})`, { cause: err });
  }
}

export type DirectSource =
  /** An App built by the caller (tests, or a custom credential); the caller deletes it. */
  | { readonly app: App }
  /** Production: loaded and validated at start; deleted at stop. */
  | { readonly serviceAccountFile: string };

export class DirectTransport implements PushTransport {
  readonly mode = 'direct' as const;
  private app: App | undefined;
  private owned = false;

  constructor(private readonly source: DirectSource) {}

  /** Builds the App; throws ZmesError ZMES_CONFIG_INVALID for a missing or broken file. */
  async start(): Promise<void> {
    if (this.app !== undefined) return;
    if ('app' in this.source) {
      this.app = this.source.app;
      return;
    }
    this.app = createFirebaseApp(loadServiceAccount(this.source.serviceAccountFile));
    this.owned = true;
  }

  async stop(): Promise<void> {
    const app = this.app;
    this.app = undefined;
    if (app !== undefined && this.owned) await deleteApp(app).catch(() => undefined);
    this.owned = false;
  }

  /** The project the messages go to (for the startup log line). */
  get projectId(): string | undefined {
    return this.app?.options.projectId;
  }

  describe(): string {
    return `direct to Firebase project ${this.projectId ?? '(unknown)'} (FCM HTTP v1)`;
  }

  deliver(requests: readonly PushRequest[], payload: PayloadOptions, onOutcome: (index: number, outcome: PushOutcome) => void): Promise<void> {
    return this.deliverMessages(requests.map((r) => buildDirectMessage(r.content, r.target, payload)), onOutcome);
  }

  /**
   * One attempt per message; batches of 500 run concurrently. `onOutcome(i, …)` fires per
   * message as soon as its batch has answered.
   */
  async deliverMessages(messages: readonly TokenMessage[], onOutcome: (index: number, outcome: PushOutcome) => void): Promise<void> {
    const app = this.app;
    if (app === undefined) {
      messages.forEach((_, i) => onOutcome(i, { status: 'transient', detail: 'FCM sender not started' }));
      return;
    }
    const messaging = getMessaging(app);
    const batches: Promise<void>[] = [];
    for (let offset = 0; offset < messages.length; offset += FCM_MAX_BATCH) {
      const batch = messages.slice(offset, offset + FCM_MAX_BATCH);
      batches.push(
        sendBatch(() => messaging.sendEach(batch), batch.length).then((outcomes) => outcomes.forEach((o, i) => onOutcome(offset + i, o))),
      );
    }
    await Promise.all(batches);
  }
}

/** sendEach() with its failure modes mapped to one outcome per message. */
async function sendBatch(send: () => Promise<BatchResponse>, count: number): Promise<PushOutcome[]> {
  let response: BatchResponse | undefined;
  let failure: unknown;
  try {
    response = await send();
  } catch (err) {
    failure = err;
    // The HTTP/2 session broke: firebase-admin still hands over what each message got so far.
    const pending = (err as { pendingBatchResponse?: unknown }).pendingBatchResponse;
    if (pending instanceof Promise) response = (await pending.catch(() => undefined)) as BatchResponse | undefined;
  }
  if (response === undefined || response.responses.length !== count) {
    const outcome = classifyFirebaseError(failure);
    // A whole-batch failure says nothing about any single token.
    const safe: PushOutcome = outcome.status === 'invalid-token' ? { status: 'transient', detail: outcome.detail } : outcome;
    return Array.from({ length: count }, () => safe);
  }
  return response.responses.map((r) =>
    r.success ? { status: 'ok', detail: 'sent', ...(r.messageId === undefined ? {} : { messageId: r.messageId }) } : classifyFirebaseError(r.error),
  );
}
