import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientFrame, type ClientMessage, type ParseResult } from '../../../src/ws/protocol.js';
import { notSupportedFrame } from '../../../src/ws/frames.js';
import { buildHostileCorpus } from '../../helpers/hostile-frames.js';

const MAX_BYTES = 64 * 1024;

const KINDS = new Set<ClientMessage['kind']>([
  'auth', 'auth-escontrol', 'control-filter', 'control-version', 'control-unknown', 'push-token', 'push-badge',
  'push-unknown', 'escontrol', 'unsupported', 'rejected',
]);
const CAUSES = new Set(['too-large', 'too-deep', 'not-json', 'not-object', 'data-not-object', 'bad-field']);

function optionalString(value: unknown): boolean {
  return value === undefined || typeof value === 'string';
}

/** Describes what is wrong with a result, or returns undefined when it is well-typed. */
function problem(result: ParseResult): string | undefined {
  if (!result.ok) {
    if (result.error.code !== 'BADJSON') return 'error code';
    if (!CAUSES.has(result.error.cause)) return 'error cause';
    return typeof result.error.detail === 'string' ? undefined : 'error detail';
  }
  const msg = result.value;
  if (!KINDS.has(msg.kind)) return 'kind';
  if (!optionalString(msg.topLevelToken)) return 'topLevelToken';
  switch (msg.kind) {
    case 'auth':
      return [msg.user, msg.password, msg.appversion, msg.monlist, msg.intlist].every(optionalString) ? undefined : 'auth field';
    case 'auth-escontrol':
      return optionalString(msg.password) ? undefined : 'escontrol password';
    case 'control-filter':
      return typeof msg.monlist === 'string' && typeof msg.intlist === 'string' ? undefined : 'filter lists';
    case 'push-token':
      if (typeof msg.token !== 'string' || msg.token === '' || (msg.platform !== 'android' && msg.platform !== 'ios')) return 'token';
      if (msg.state !== 'enabled' && msg.state !== 'disabled') return 'state';
      if (msg.profile !== undefined && Array.from(msg.profile).length > 128) return 'profile length';
      return [msg.monlist, msg.intlist, msg.profile].every(optionalString) ? undefined : 'token field';
    case 'push-badge':
      return Number.isSafeInteger(msg.badge) && msg.badge >= 0 ? undefined : 'badge';
    case 'escontrol':
      if (!optionalString(msg.command)) return 'command';
      return typeof msg.data === 'object' && msg.data !== null && !Array.isArray(msg.data) ? undefined : 'escontrol data';
    case 'unsupported':
      return /^[\x20-\x7e]{0,32}$/.test(msg.echo) ? undefined : 'echo';
    case 'control-unknown':
    case 'push-unknown':
      return /^[\x20-\x7e]{0,32}$/.test(msg.subtype) ? undefined : 'subtype';
    case 'rejected':
    case 'control-version':
      return undefined;
  }
}

function hasPollutingKey(value: unknown, depth = 0): boolean {
  if (depth > 64 || typeof value !== 'object' || value === null) return false;
  for (const key of Object.keys(value)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') return true;
    if (hasPollutingKey((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}

test('the generated corpus holds at least 10,000 malformed or hostile inputs', () => {
  const corpus = buildHostileCorpus(MAX_BYTES);
  assert.ok(corpus.length >= 10_000, `only ${corpus.length} inputs`);
  // Deterministic: the same corpus on every run.
  assert.deepEqual(buildHostileCorpus(MAX_BYTES).slice(-50), corpus.slice(-50));
});

test('parsing every corpus input never throws, always gives a well-typed result and pollutes nothing', () => {
  const objectKeysBefore = Object.getOwnPropertyNames(Object.prototype).sort();
  const arrayKeysBefore = Object.getOwnPropertyNames(Array.prototype).sort();
  const corpus = buildHostileCorpus(MAX_BYTES);
  const failures: string[] = [];
  const seen = { ok: 0, error: 0 };
  for (const input of corpus) {
    let result: ParseResult;
    try {
      result = parseClientFrame(input, { maxBytes: MAX_BYTES });
    } catch (err) {
      failures.push(`threw ${String(err)} on ${JSON.stringify(input.slice(0, 120))}`);
      continue;
    }
    const issue = problem(result);
    if (issue !== undefined) failures.push(`${issue}: ${JSON.stringify(input.slice(0, 120))}`);
    if (result.ok) {
      seen.ok++;
      if (result.value.kind === 'escontrol' && hasPollutingKey(result.value.data)) {
        failures.push(`polluting key kept: ${JSON.stringify(input.slice(0, 120))}`);
      }
      if (result.value.kind === 'unsupported') JSON.parse(notSupportedFrame(result.value.echo));
    } else {
      seen.error++;
    }
  }
  assert.deepEqual(failures.slice(0, 10), []);
  // The corpus exercises both outcomes, so the checks above checked something.
  assert.ok(seen.ok > 1000, `only ${seen.ok} messages`);
  assert.ok(seen.error > 1000, `only ${seen.error} errors`);
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), objectKeysBefore);
  assert.deepEqual(Object.getOwnPropertyNames(Array.prototype).sort(), arrayKeysBefore);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  assert.equal(Object.getPrototypeOf({}), Object.prototype);
});
