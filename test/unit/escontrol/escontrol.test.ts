import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand, type CommandEnvironment } from '../../../src/escontrol/commands.js';
import { resolveEditKey } from '../../../src/escontrol/edit-keys.js';
import { EMPTY_STATE, EscontrolStore, parseStoreText, storeJson, type EscontrolState } from '../../../src/escontrol/overrides-store.js';
import { createMuteStage } from '../../../src/escontrol/mute-stage.js';
import { escontrolOverrides, loadConfigWithEscontrol } from '../../../src/escontrol/startup-overrides.js';
import { loadConfig } from '../../../src/config/load.js';
import type { DraftNotification } from '../../../src/notify/pipeline.js';
import { memoryLogger } from '../../helpers/memory-log.js';

const env = (monitors: number[] = [1, 2], problem?: string): CommandEnvironment => ({ knownMonitors: () => monitors, checkEdit: () => problem });
const state = (notifications: Record<number, -1 | 0 | 1>, settings: Record<string, string> = {}): EscontrolState => ({
  notifications: new Map(Object.entries(notifications).map(([k, v]) => [Number(k), v])),
  settings: new Map(Object.entries(settings)),
});

describe('escontrol commands (pure)', () => {
  test('mute without a list covers the monitors ZoneMinder has and those already stored', () => {
    const result = runCommand(state({ 9: 0 }), { command: 'mute' }, env([1, 2]));
    assert.equal(result.kind, 'change');
    assert.deepEqual(result.kind === 'change' ? storeJson(result.next) : null, { notifications: { 1: -1, 2: -1, 9: -1 } });
  });

  test('monitors may be numbers, numeric strings or a comma string; anything else fails with BADMONITORS', () => {
    const ok = runCommand(EMPTY_STATE, { command: 'mute', monitors: [3, '4'] }, env());
    assert.deepEqual(ok.kind === 'change' ? storeJson(ok.next) : null, { notifications: { 3: -1, 4: -1 } });
    const comma = runCommand(EMPTY_STATE, { command: 'unmute', monitors: '5, 6' }, env());
    assert.deepEqual(comma.kind === 'change' ? storeJson(comma.next) : null, { notifications: { 5: 0, 6: 0 } });
    const bad = runCommand(EMPTY_STATE, { command: 'mute', monitors: ['x'] }, env());
    assert.equal(bad.kind, 'reply');
    assert.equal((JSON.parse(bad.reply) as { reason: string }).reason, 'BADMONITORS');
    assert.equal(runCommand(EMPTY_STATE, { command: 'mute', monitors: [] }, env()).log, 'escontrol mute: monitor(s) (none) muted');
  });

  test('an edit replaces another spelling of the same key and is refused with the checker problem', () => {
    const result = runCommand(state({}, { use_hooks: 'no' }), { command: 'edit', key: 'USE_HOOKS', val: true }, env());
    assert.deepEqual(result.kind === 'change' ? storeJson(result.next) : null, { notifications: {}, 'customize.use_hooks': 'true' });
    const refused = runCommand(EMPTY_STATE, { command: 'edit', key: 'use_hooks', val: 'maybe' }, env([], 'customize.use_hooks: "maybe" is not valid'));
    assert.deepEqual(JSON.parse(refused.reply), {
      event: 'escontrol', type: 'command', status: 'Fail', reason: 'BADVALUE',
      request: { command: 'edit', key: 'use_hooks', val: 'maybe' }, detail: 'customize.use_hooks: "maybe" is not valid',
    });
  });

  test('bare keys resolve only when unambiguous; the store location cannot be edited', () => {
    assert.deepEqual(resolveEditKey('use_hooks'), { ok: true, key: 'customize.use_hooks' });
    assert.equal(resolveEditKey('timeout').ok, true);
    const ambiguous = resolveEditKey('enable');
    assert.equal(ambiguous.ok ? '' : ambiguous.reason, 'ambiguous');
    const refused = resolveEditKey('general.escontrol_interface_file');
    assert.equal(refused.ok ? '' : refused.reason, 'refused');
    const unknown = resolveEditKey('customize.use_hook');
    assert.match(unknown.ok ? '' : unknown.problem, /did you mean customize\.use_hooks\?/);
  });
});

describe('the escontrol store file', () => {
  test('drops bad entries with a warning and keeps the rest; refuses a file that is not a JSON object', () => {
    const parsed = parseStoreText('{"notifications":{"1":-1,"2":"1","x":0,"3":5},"customize.use_hooks":"no","weird":{"a":1}}');
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.ok ? storeJson(parsed.state) : null, { notifications: { 1: -1, 2: 1 }, 'customize.use_hooks': 'no' });
    assert.equal(parsed.ok ? parsed.warnings.length : 0, 3);
    assert.equal(parseStoreText('[1]').ok, false);
    assert.equal(parseStoreText('{"notifications":').ok, false);
  });

  test('a corrupt file is set aside with a warning and the store starts empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zmes-escontrol-unit-'));
    try {
      const path = join(dir, 'escontrol.json');
      writeFileSync(path, 'not json');
      const logs = memoryLogger();
      const store = new EscontrolStore({ path, log: logs.log });
      await store.start();
      assert.equal(store.state.notifications.size, 0);
      assert.ok(readdirSync(dir).some((f) => f.startsWith('escontrol.json.corrupt-')));
      assert.equal(logs.grep(/set aside/).length, 1);
      store.replace(state({ 4: -1 }));
      const again = new EscontrolStore({ path, log: logs.log });
      await again.start();
      assert.equal(again.mode(4), -1);
      assert.equal(again.mode(5), 0, 'a monitor the store does not list is 0');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the mute stage', () => {
  const draft = (monitorId: number) => ({ phase: 'start', event: { eventId: 7n, monitorId, monitorName: 'M' } }) as unknown as DraftNotification;
  test('-1 drops with one info line, 1 passes marked as forced, 0 passes unmarked', async () => {
    const logs = memoryLogger();
    const { stage, isForced } = createMuteStage((id) => (id === 1 ? -1 : id === 2 ? 1 : 0), logs.log);
    assert.equal(await stage(draft(1)), null);
    assert.equal(logs.grep(/muted by escontrol; not notified on any channel/).length, 1);
    const forced = draft(2);
    assert.equal(await stage(forced), forced);
    assert.equal(isForced(forced), true);
    const normal = draft(3);
    assert.equal(await stage(normal), normal);
    assert.equal(isForced(normal), false);
  });
});

describe('edit overrides at startup', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'zmes-escontrol-start-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const options = (file: string, extra: Record<string, unknown> = {}) => ({
    env: {},
    overrides: { 'general.use_escontrol_interface': true, 'general.escontrol_interface_file': file, 'database.zm_conf': join(dir, 'none'), ...extra },
  });

  test('stored settings are applied; unknown, ambiguous and invalid ones are dropped with a warning', () => {
    const file = join(dir, 'start.json');
    writeFileSync(file, JSON.stringify({ notifications: { 1: -1 }, 'customize.send_event_end_notification': 'yes', tag_alarm_event_id: 'yes', enable: 'no', 'auth.timeout': 'soon', 'x.y': '1' }));
    const loaded = loadConfigWithEscontrol(options(file));
    assert.equal(loaded.config.customize.send_event_end_notification, true);
    assert.equal(loaded.config.customize.tag_alarm_event_id, true);
    assert.equal(loaded.config.auth.timeout, 20);
    assert.equal(loaded.sources.get('customize.send_event_end_notification'), 'override');
    const warnings = loaded.warnings.join('\n');
    assert.match(warnings, /escontrol override "enable" not applied: enable is ambiguous/);
    assert.match(warnings, /escontrol override of auth\.timeout not applied: auth\.timeout: "soon" is not valid/);
    assert.match(warnings, /escontrol override "x\.y" not applied/);
    assert.match(warnings, /escontrol overrides applied: customize\.send_event_end_notification, customize\.tag_alarm_event_id/);
  });

  test('nothing is read when the interface is off, and an environment variable wins over a stored setting', () => {
    const file = join(dir, 'env.json');
    writeFileSync(file, JSON.stringify({ 'customize.use_hooks': 'yes' }));
    const off = escontrolOverrides(loadConfig({ env: {}, overrides: { 'general.escontrol_interface_file': file } }));
    assert.deepEqual(off, { overrides: {}, warnings: [], file: undefined });
    const opts = { ...options(file), env: { ZMES_CUSTOMIZE_USE_HOOKS: 'no' } };
    const loaded = loadConfigWithEscontrol(opts);
    assert.equal(loaded.config.customize.use_hooks, false);
    assert.match(loaded.warnings.join('\n'), /escontrol override of customize\.use_hooks has no effect: the environment variable ZMES_CUSTOMIZE_USE_HOOKS is set/);
  });
});
