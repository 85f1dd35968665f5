import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../../src/clock.js';
import { loadConfig } from '../../../src/config/load.js';
import { EventBus } from '../../../src/event-bus.js';
import { DEFAULT_LIMITS } from '../../../src/notify/hooks/hook-runner.js';
import { createHookStage, type HookOptions } from '../../../src/notify/hooks/hooks.js';
import { ApiPushChannel, apiPushOptionsFrom, type ApiPushOptions } from '../../../src/notify/channels/api-push-channel.js';
import { ALL_CHANNELS } from '../../../src/notify/pipeline.js';
import type { ChannelName, Notification, Phase } from '../../../src/domain/notification.js';
import type { ZmEvent } from '../../../src/domain/zm-event.js';
import type { ZmesEvents } from '../../../src/domain/bus-events.js';
import { memoryLogger, type MemoryLogger } from '../../helpers/memory-log.js';

const dump = (memory: MemoryLogger) => memory.lines.map((l) => l.message).join('\n');

/**
 * The `api` channel with real scripts: the classic argument list passed literally, routing,
 * the event path, failures logged, and a stop that ends a script still running.
 */
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'zmes-api-push-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/bash\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const HOOKS_OFF: HookOptions = {
  enabled: false,
  start: { hook: null, userscript: null, onSuccess: new Set(), onFail: new Set() },
  end: { hook: null, userscript: null, onSuccess: new Set(), onFail: new Set() },
  endNotifyIfStartSuccess: false,
  useHookDescription: false,
  skipMonitors: new Set(),
  passImagePath: false,
  maxParallel: 0,
  maxQueued: 100,
  limits: { ...DEFAULT_LIMITS, timeoutMs: 30_000 },
  picture: null,
  memoryLimit: 100,
};

const event: ZmEvent = {
  eventId: 9007199254740993n,
  monitorId: 4,
  monitorName: 'Back "Yard" $HOME; rm',
  cause: 'Motion',
  notes: 'Motion: Lawn',
  startTime: 1_800_000_000,
  endTime: null,
  alarmFrames: 1,
  maxScore: 20,
};

function notification(phase: Phase, channels: Iterable<ChannelName> = ALL_CHANNELS): Notification {
  return { phase, event, cause: 'Motion: Lawn', detectionJson: [], rulesObject: {}, picture: undefined, hookValue: 0, channels: new Set(channels), detectedAt: 0 };
}

function setup(options: ApiPushOptions, folder: string | null = null) {
  const memory = memoryLogger('debug');
  const bus = new EventBus<ZmesEvents>(memory.log);
  const hooks = createHookStage({ db: null, log: memory.log, clock: systemClock, eventFolder: () => Promise.resolve(folder) }, HOOKS_OFF);
  const channel = new ApiPushChannel(bus, hooks, options, memory.log);
  return { bus, hooks, channel, memory };
}

test('each notification runs the script once with the classic arguments, passed literally', async (t) => {
  const recorder = script('record.sh', `printf '%s\\0' "$@" >> ${JSON.stringify(join(dir, 'args.bin'))}\nprintf '%s\\n' '--' >> ${JSON.stringify(join(dir, 'args.bin'))}`);
  const { bus, channel, hooks, memory } = setup({ script: { argv: [recorder], text: recorder }, passImagePath: false });
  await channel.start();
  t.after(() => hooks.stop());
  bus.emit('notification', notification('start'));
  bus.emit('notification', notification('end'));
  await channel.idle();
  await channel.stop();
  const runs = readFileSync(join(dir, 'args.bin'), 'utf8').split('--\n').filter((r) => r !== '').map((r) => r.split('\0').slice(0, -1));
  const expected = (phase: string) => ['9007199254740993', '4', 'Back "Yard" $HOME; rm', 'Motion: Lawn', phase];
  assert.deepEqual(runs.sort(), [expected('event_end'), expected('event_start')]);
  // An API script owes no output: exit 0 is success, without the hooks' "printed no text" line.
  assert.equal(memory.grep(/printed no text/).length, 0);
  assert.ok(memory.grep(/api push script \(start\).*returned 0/).length > 0, dump(memory));
});

test('a notification routed away from the api channel runs nothing; the event path comes with hook_pass_image_path', async (t) => {
  const out = join(dir, 'routed.txt');
  const recorder = script('routed.sh', `printf '%s|' "$@" >> ${JSON.stringify(out)}; echo >> ${JSON.stringify(out)}`);
  const { bus, channel, hooks } = setup({ script: { argv: [recorder, '--fixed'], text: recorder }, passImagePath: true }, '/var/cache/zoneminder/events/4/2026-12-05/17');
  await channel.start();
  t.after(() => hooks.stop());
  bus.emit('notification', notification('start', ['web', 'fcm', 'mqtt']));
  bus.emit('notification', notification('end', ['api']));
  await channel.idle();
  await channel.stop();
  assert.equal(readFileSync(out, 'utf8'), '--fixed|9007199254740993|4|Back "Yard" $HOME; rm|Motion: Lawn|event_end|/var/cache/zoneminder/events/4/2026-12-05/17|\n');
});

test('a failing or missing script is logged with its exit code, and the channel keeps working', async (t) => {
  const failing = script('fail.sh', 'echo "pushover said no" >&2; exit 3');
  const broken = setup({ script: { argv: [failing], text: failing }, passImagePath: false });
  await broken.channel.start();
  t.after(() => broken.hooks.stop());
  broken.bus.emit('notification', notification('start'));
  broken.bus.emit('notification', notification('start'));
  await broken.channel.idle();
  await broken.channel.stop();
  assert.equal(broken.memory.grep(/api push script \(start\).*returned 3/).length, 2, dump(broken.memory));
  assert.equal(broken.memory.grep(/stderr: pushover said no/).length, 2);

  const missing = setup({ script: { argv: [join(dir, 'nope.sh')], text: 'nope.sh' }, passImagePath: false });
  await missing.channel.start();
  t.after(() => missing.hooks.stop());
  missing.bus.emit('notification', notification('start'));
  await missing.channel.idle();
  await missing.channel.stop();
  assert.ok(missing.memory.lines.some((l) => l.level.includes('error') && /api push script.*cannot be started \(ENOENT\)/.test(l.message)), dump(missing.memory));
});

test('stop ends a script still running instead of waiting for it', async (t) => {
  const started = join(dir, 'slow-started');
  const slow = script('slow.sh', `touch ${JSON.stringify(started)}; exec sleep 600`);
  const { bus, channel, hooks, memory } = setup({ script: { argv: [slow], text: slow }, passImagePath: false });
  await channel.start();
  t.after(() => hooks.stop());
  bus.emit('notification', notification('start'));
  const deadline = Date.now() + 10_000;
  while (!existsSync(started)) {
    assert.ok(Date.now() < deadline, 'the script never started');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const begun = Date.now();
  await channel.stop();
  assert.ok(Date.now() - begun < 10_000, 'stop waited for the script');
  assert.ok(memory.grep(/api push script.*ended, server stopping/).length > 0, dump(memory));
});

test('the options: off by default, on without a script is a warning, a quoted script line is split', () => {
  assert.deepEqual(apiPushOptionsFrom(loadConfig({ env: {} }).config), { options: null, warnings: [] });
  const unset = apiPushOptionsFrom(loadConfig({ env: {}, overrides: { 'push.use_api_push': true } }).config);
  assert.equal(unset.options, null);
  assert.match(unset.warnings.join('\n'), /push\.api_push_script is not set/);
  const set = apiPushOptionsFrom(
    loadConfig({ env: {}, overrides: { 'push.use_api_push': true, 'push.api_push_script': '"/opt/my scripts/push.py" --quiet', 'hook.hook_pass_image_path': true } }).config,
  );
  assert.deepEqual(set.options, { script: { argv: ['/opt/my scripts/push.py', '--quiet'], text: '"/opt/my scripts/push.py" --quiet' }, passImagePath: true });
});
