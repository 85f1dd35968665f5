import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../../src/clock.js';
import { loadConfig } from '../../../src/config/load.js';
import { EventBus } from '../../../src/event-bus.js';
import { splitCommandLine } from '../../../src/notify/hooks/command-line.js';
import { DEFAULT_LIMITS } from '../../../src/notify/hooks/hook-runner.js';
import { createHookStage, type HookCommand, type HookOptions, type PhaseHooks } from '../../../src/notify/hooks/hooks.js';
import { ALL_CHANNELS, NotificationPipeline, type DraftNotification } from '../../../src/notify/pipeline.js';
import { createNotificationStages } from '../../../src/notify/stages.js';
import type { ChannelName, Phase } from '../../../src/domain/notification.js';
import type { ZmEvent } from '../../../src/domain/zm-event.js';
import type { ZmesEvents } from '../../../src/domain/bus-events.js';
import { ZmSimulator } from '../../../dev/sim/zm-simulator.js';
import { ZmDatabase } from '../../../src/zm/db.js';
import { memoryLogger } from '../../helpers/memory-log.js';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';

/**
 * Real hook scripts (bash and node) in a temporary folder, run by the hook stage: the result
 * contract, timeouts on a whole process tree, output limits, literal arguments, the bounded
 * queue, channel routing, and the Notes written into a real ZoneMinder schema.
 */
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'zmes-hooks-'));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes an executable script; `body` may use `$D` for the temp folder. */
function script(name: string, body: string, shebang = '#!/bin/bash'): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `${shebang}\nD=${shellQuote(dir)}\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

function nodeScript(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `const D = ${JSON.stringify(dir)};\n${body}\n`);
  return path;
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

const cmd = (path: string): HookCommand => ({ argv: [path], text: path });
const channels = (...names: ChannelName[]) => new Set<ChannelName>(names);
const NO_PHASE: PhaseHooks = { hook: null, userscript: null, onSuccess: channels(), onFail: channels() };

function phase(hook: HookCommand | null, more: Partial<PhaseHooks> = {}): PhaseHooks {
  return { hook, userscript: null, onSuccess: new Set(ALL_CHANNELS), onFail: channels(), ...more };
}

function hookOptions(more: Partial<HookOptions> = {}): HookOptions {
  return {
    enabled: true,
    start: NO_PHASE,
    end: NO_PHASE,
    endNotifyIfStartSuccess: true,
    useHookDescription: true,
    skipMonitors: new Set(),
    passImagePath: false,
    maxParallel: 0,
    maxQueued: 100,
    limits: DEFAULT_LIMITS,
    picture: null,
    memoryLimit: 100,
    ...more,
  };
}

let nextId = 1000n;
function zmEvent(more: Partial<ZmEvent> = {}): ZmEvent {
  return {
    eventId: nextId++,
    monitorId: 2,
    monitorName: 'Front Door',
    cause: 'Motion',
    notes: 'Motion: zone1',
    startTime: 1_800_000_000,
    endTime: null,
    alarmFrames: 1,
    maxScore: 20,
    ...more,
  };
}

function draft(phaseName: Phase, event: ZmEvent, cause = phaseName === 'start' ? event.cause : event.notes): DraftNotification {
  return { phase: phaseName, event, cause, detectionJson: [], rulesObject: {}, picture: undefined, hookValue: 0, channels: new Set(ALL_CHANNELS) };
}

function setup(options: HookOptions) {
  const memory = memoryLogger();
  const hooks = createHookStage({ db: null, log: memory.log, clock: systemClock }, options);
  return { hooks, memory, run: async (d: DraftNotification) => hooks.stage(d) };
}

const DETECTION = '{"labels":["person"],"boxes":[[1,2,3,4]],"frame_id":"alarm","confidences":[0.97],"image_dimensions":{}}';

// ---------------------------------------------------------------------------------------------

test('a successful start hook: text--SPLIT--json sets cause, DetectionJson, hookValue and the success channels', async () => {
  const hook = script('detect.sh', `printf '%s\\n' "$@" > "$D/detect-args-$1.txt"\necho '[a] detected:person:97%--SPLIT--${DETECTION}'`);
  const { run } = setup(hookOptions({ start: phase(cmd(hook), { onSuccess: channels('web', 'mqtt'), onFail: channels('fcm') }) }));
  const event = zmEvent();
  const out = await run(draft('start', event));
  assert.ok(out);
  assert.equal(out.cause, '[a] detected:person:97% Motion');
  assert.deepEqual(out.detectionJson, JSON.parse(DETECTION));
  assert.equal(out.hookValue, 0);
  assert.deepEqual([...out.channels].sort(), ['mqtt', 'web']);
  const args = readFileSync(join(dir, `detect-args-${event.eventId}.txt`), 'utf8');
  assert.equal(args, `${event.eventId}\n2\nFront Door\nMotion\n`, 'EventId MonitorId MonitorName Cause');
});

test('a failing start hook: raw exit code as hookValue, fail channels, cause and detection untouched', async () => {
  const hook = script('fail3.sh', 'echo "nothing found"; exit 3');
  const { run } = setup(hookOptions({ start: phase(cmd(hook), { onSuccess: channels('web', 'mqtt'), onFail: channels('fcm', 'api') }) }));
  const out = await run(draft('start', zmEvent()));
  assert.equal(out?.hookValue, 3);
  assert.equal(out?.cause, 'Motion');
  assert.deepEqual(out?.detectionJson, []);
  assert.deepEqual([...out!.channels].sort(), ['api', 'fcm']);
});

test('exit 0 with no output is a failure with hookValue 1', async () => {
  const hook = script('silent.sh', 'exit 0');
  const { run, memory } = setup(hookOptions({ start: phase(cmd(hook), { onFail: channels('web') }) }));
  const out = await run(draft('start', zmEvent()));
  assert.equal(out?.hookValue, 1);
  assert.deepEqual([...out!.channels], ['web']);
  assert.equal(memory.grep(/exited 0 but printed no text/).length, 1);
});

test('invalid JSON after --SPLIT-- is a logged hook failure with DetectionJson [], and the event is still notified', async () => {
  const hook = script('badjson.sh', `echo 'detected:car--SPLIT--{"labels": ['`);
  const { run, memory } = setup(hookOptions({ start: phase(cmd(hook), { onSuccess: channels('fcm'), onFail: channels('web') }) }));
  const out = await run(draft('start', zmEvent()));
  assert.ok(out, 'not lost (classic defect #14)');
  assert.equal(out.hookValue, 1);
  assert.deepEqual(out.detectionJson, []);
  assert.equal(out.cause, 'Motion');
  assert.deepEqual([...out.channels], ['web']);
  assert.equal(memory.grep(/invalid JSON after --SPLIT--/).length, 1);
});

test('a hook that cannot be started fails with 127 and an error line', async () => {
  const { run, memory } = setup(hookOptions({ start: phase(cmd(join(dir, 'missing.sh')), { onFail: channels('mqtt') }) }));
  const out = await run(draft('start', zmEvent()));
  assert.equal(out?.hookValue, 127);
  assert.deepEqual([...out!.channels], ['mqtt']);
  assert.equal(memory.lines.filter((l) => l.level === 'error' && /cannot be started \(ENOENT\)/.test(l.message)).length, 1);
});

/** Processes (not zombies) whose process group is `pgid`. */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp …; comm may hold spaces, so parse after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(name));
  }
  return members;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test('hook_timeout kills the whole process tree: TERM, then KILL for what ignores TERM', async () => {
  const hook = script(
    'tree.sh',
    [
      'echo $$ > "$D/tree-leader.pid"',
      // A grandchild that ignores TERM (the ignore survives exec): only the KILL 2 s later ends it.
      `bash -c 'trap "" TERM; echo $$ > "$0/tree-grandchild.pid"; exec sleep 30' "$D" &`,
      'sleep 30',
      'echo never',
    ].join('\n'),
  );
  const { run, memory } = setup(
    hookOptions({ start: phase(cmd(hook), { onFail: channels('web') }), limits: { ...DEFAULT_LIMITS, timeoutMs: 1000 } }),
  );
  const started = Date.now();
  const out = await run(draft('start', zmEvent()));
  const elapsed = Date.now() - started;
  assert.equal(out?.hookValue, 1, 'a timeout counts as exit 1');
  assert.deepEqual([...out!.channels], ['web']);
  assert.ok(elapsed >= 1000 && elapsed < 6000, `took ${elapsed} ms`);
  assert.equal(memory.grep(/timed out after 1 s, killed/).length, 1);
  const leader = Number(readFileSync(join(dir, 'tree-leader.pid'), 'utf8'));
  const grandchild = Number(readFileSync(join(dir, 'tree-grandchild.pid'), 'utf8'));
  assert.ok(elapsed >= 2900, `the grandchild ignored TERM, so the stage waited for KILL (${elapsed} ms)`);
  // Reaping of the re-parented grandchild may take a moment.
  for (let i = 0; i < 50 && (alive(grandchild) || groupMembers(leader).length > 0); i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(alive(leader), false, 'the hook is gone');
  assert.equal(alive(grandchild), false, 'the grandchild is gone');
  assert.deepEqual(groupMembers(leader), [], 'nothing is left of the process group');
});

test('a hook that ends on TERM is reported at once, without waiting for the KILL grace period', async () => {
  const hook = script('sleepy.sh', 'sleep 30');
  const { run } = setup(hookOptions({ start: phase(cmd(hook)), limits: { ...DEFAULT_LIMITS, timeoutMs: 300 } }));
  const started = Date.now();
  const out = await run(draft('start', zmEvent()));
  assert.equal(out?.hookValue, 1);
  assert.ok(Date.now() - started < 1800, `took ${Date.now() - started} ms`);
});

test('several MB of output are cut at the limit without a crash; stderr is bounded too', async () => {
  const huge = nodeScript(
    'huge.mjs',
    [
      "const chunk = 'x'.repeat(65536);",
      'for (let i = 0; i < 128; i++) process.stdout.write(chunk);', // 8 MiB
      "process.stdout.write('--SPLIT--[]\\n');",
      "process.stderr.write('e'.repeat(4 << 20));",
    ].join('\n'),
  );
  const { run, memory } = setup(hookOptions({ start: phase({ argv: [process.execPath, huge], text: `node ${huge}` }) }));
  const out = await run(draft('start', zmEvent()));
  assert.ok(out);
  assert.equal(out.hookValue, 0, 'exit 0 with text: success');
  assert.ok(out.cause.length <= 1024 + ' Motion'.length, `cause of ${out.cause.length} characters`);
  assert.ok(out.cause.endsWith('… Motion'));
  assert.equal(memory.grep(/printed more than 1048576 bytes; the rest was ignored/).length, 1);
});

test('arguments full of shell metacharacters reach bash and node hooks byte for byte, and nothing is executed', async () => {
  const spaced = script('my hooks/args.sh', 'for a in "$@"; do printf \'%s\\0\' "$a"; done > "$D/meta-args.bin"\necho ok');
  const nodeHook = nodeScript(
    'args.mjs',
    "import { writeFileSync } from 'node:fs';\nwriteFileSync(D + '/meta-args.json', JSON.stringify(process.argv.slice(2)));\nconsole.log('ok');",
  );
  const name = `Cam $(touch ${dir}/pwned1); \`touch ${dir}/pwned2\` "' && touch ${dir}/pwned3 # \\ * ~ | Café ☕`;
  const cause = `Motion: "zone'1"; $(touch ${dir}/pwned4) && rm -rf ${dir}/nothing`;
  const event = zmEvent({ monitorName: name, cause });
  const expected = [String(event.eventId), '2', name, cause];

  // The configured command line is split once: a quoted path with a space works.
  const quoted = `"${spaced}"`;
  const bashRun = setup(hookOptions({ start: phase({ argv: splitCommandLine(quoted), text: quoted }) }));
  assert.equal((await bashRun.run(draft('start', event)))?.hookValue, 0);
  const recorded = readFileSync(join(dir, 'meta-args.bin'));
  assert.deepEqual(recorded, Buffer.from(expected.map((a) => `${a}\0`).join(''), 'utf8'));

  const nodeRun = setup(hookOptions({ start: phase({ argv: [process.execPath, nodeHook], text: 'node args.mjs' }) }));
  assert.equal((await nodeRun.run(draft('start', event)))?.hookValue, 0);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'meta-args.json'), 'utf8')), expected);

  for (const file of ['pwned1', 'pwned2', 'pwned3', 'pwned4']) assert.equal(existsSync(join(dir, file)), false, `${file} was created`);
});

test('max_parallel_hooks 2: a burst runs 2 at a time, queues 2, and notifies the overflow by the fail rules', async () => {
  mkdirSync(join(dir, 'running'), { recursive: true });
  const hook = script(
    'queue.sh',
    [
      'touch "$D/running/$1"',
      'ls "$D/running" | wc -l >> "$D/concurrency.txt"',
      'echo "$1" >> "$D/ran.txt"',
      'sleep 0.4',
      'rm -f "$D/running/$1"',
      'echo "[a] detected:person"',
    ].join('\n'),
  );
  const { hooks, run, memory } = setup(
    hookOptions({ start: phase(cmd(hook), { onSuccess: channels('fcm', 'web'), onFail: channels('mqtt') }), maxParallel: 2, maxQueued: 2 }),
  );
  const events = Array.from({ length: 7 }, () => zmEvent());
  const results = await Promise.all(events.map((e) => run(draft('start', e))));

  assert.equal(results.filter((r) => r !== null).length, 7, 'nothing dropped');
  const ran = readFileSync(join(dir, 'ran.txt'), 'utf8').trim().split('\n');
  assert.deepEqual(ran.sort(), events.slice(0, 4).map((e) => String(e.eventId)).sort(), 'the first 2 ran, the next 2 waited and ran');
  const concurrency = readFileSync(join(dir, 'concurrency.txt'), 'utf8').trim().split('\n').map(Number);
  assert.equal(Math.max(...concurrency), 2, `concurrency seen by the scripts: ${concurrency.join(',')}`);
  assert.equal(hooks.stats.peakRunning, 2);
  assert.equal(hooks.stats.refused, 3);
  for (const r of results.slice(0, 4)) {
    assert.equal(r?.hookValue, 0);
    assert.deepEqual([...r!.channels].sort(), ['fcm', 'web']);
  }
  for (const r of results.slice(4)) {
    assert.equal(r?.hookValue, 1);
    assert.deepEqual([...r!.channels], ['mqtt'], 'overflow is notified as a failed hook');
  }
  const warnings = memory.lines.filter((l) => l.level === 'warn' && /max_parallel_hooks/.test(l.message));
  assert.equal(warnings.length, 3);
  assert.match(warnings[0]!.message, new RegExp(`event ${events[4]!.eventId} .*start hook not run, 2 hooks running and 2 waiting`));
});

test('hooks off, or no hook for the phase: every channel, hookValue 0, nothing runs', async () => {
  const hook = script('never.sh', 'touch "$D/never-ran"; echo x');
  const off = setup(hookOptions({ enabled: false, start: phase(cmd(hook), { onSuccess: channels() }) }));
  const out = await off.run(draft('start', zmEvent()));
  assert.deepEqual([...out!.channels].sort(), ['api', 'fcm', 'mqtt', 'web']);
  assert.equal(out?.hookValue, 0);
  const startOnly = setup(hookOptions({ start: phase(cmd(script('ok.sh', 'echo fine'))) }));
  const end = await startOnly.run(draft('end', zmEvent()));
  assert.deepEqual([...end!.channels].sort(), ['api', 'fcm', 'mqtt', 'web']);
  assert.equal(existsSync(join(dir, 'never-ran')), false);
});

test('hook_skip_monitors: no hook, counted as success', async () => {
  const hook = script('skipped.sh', 'touch "$D/skipped-ran"; echo x');
  const { run } = setup(hookOptions({ start: phase(cmd(hook), { onSuccess: channels('web'), onFail: channels('fcm') }), skipMonitors: new Set([2]) }));
  const out = await run(draft('start', zmEvent()));
  assert.equal(out?.hookValue, 0);
  assert.deepEqual([...out!.channels], ['web']);
  assert.equal(existsSync(join(dir, 'skipped-ran')), false);
});

test('the end: end hook channels, once-only description, and no end notification after a failed start', async () => {
  const detect = script('detect2.sh', `echo '[a] detected:person:97%--SPLIT--${DETECTION}'`);
  const fail = script('fail1.sh', 'exit 1');
  const echoNotes = script('echo-notes.sh', 'printf "%s" "$4" > "$D/end-notes-$1.txt"; echo "$4"');
  const options = hookOptions({
    start: phase(cmd(detect)),
    end: phase(cmd(echoNotes), { onSuccess: channels('fcm', 'web', 'api'), onFail: channels() }),
  });
  const { run } = setup(options);
  const event = zmEvent();
  await run(draft('start', event));
  const end = await run(draft('end', { ...event, notes: 'Motion: zone1, zone2' }));
  assert.ok(end);
  // The end hook got the Notes with the description back, echoed them, and the text is there once (defect #13).
  assert.equal(readFileSync(join(dir, `end-notes-${event.eventId}.txt`), 'utf8'), '[a] detected:person:97% Motion: zone1, zone2');
  assert.equal(end.cause, '[a] detected:person:97% Motion: zone1, zone2');
  assert.deepEqual([...end.channels].sort(), ['api', 'fcm', 'web']);

  const failing = setup({ ...options, start: phase(cmd(fail)) });
  const failed = zmEvent();
  await failing.run(draft('start', failed));
  assert.equal(await failing.run(draft('end', failed)), null, 'event_end_notify_if_start_success');
  assert.ok(existsSync(join(dir, `end-notes-${failed.eventId}.txt`)), 'the end hook still ran, as in the classic server');

  const lenient = setup({ ...options, start: phase(cmd(fail)), endNotifyIfStartSuccess: false });
  const other = zmEvent();
  await lenient.run(draft('start', other));
  assert.ok(await lenient.run(draft('end', other)));
});

test('user scripts get the result, ids, name, text and JSON; they never delay or change the notification', async () => {
  const detect = script('detect3.sh', `echo '[a] detected:person:97%--SPLIT--${DETECTION}'`);
  const user = script('user.sh', 'printf \'%s\\0\' "$@" > "$D/user-args-$2.bin"; sleep 0.2; exit 9');
  const { hooks, run } = setup(hookOptions({ start: phase(cmd(detect), { userscript: cmd(user) }) }));
  const event = zmEvent({ monitorName: 'Back "Yard"' });
  const out = await run(draft('start', event));
  assert.equal(out?.hookValue, 0);
  await hooks.idle();
  const args = readFileSync(join(dir, `user-args-${event.eventId}.bin`), 'utf8').split('\0').slice(0, -1);
  assert.deepEqual(args, ['0', String(event.eventId), '2', 'Back "Yard"', '[a] detected:person:97%', DETECTION]);
});

test('the picture URL is rebuilt after the hook: BESTMATCH from the detection, objdetect → snapshot on failure', async () => {
  const picture = { template: 'https://zm.example/zm/index.php?view=image&eid=EVENTID&fid=BESTMATCH&x=objdetect', username: null, password: null };
  const ok = setup(hookOptions({ start: phase(cmd(script('detect4.sh', `echo '[s] detected:car--SPLIT--${DETECTION}'`))), picture }));
  const event = zmEvent();
  assert.equal((await ok.run(draft('start', event)))?.picture, `https://zm.example/zm/index.php?view=image&eid=${event.eventId}&fid=alarm&x=objdetect`);
  const bad = setup(hookOptions({ start: phase(cmd(script('fail5.sh', 'exit 5'))), picture }));
  const failed = zmEvent();
  assert.equal((await bad.run(draft('start', failed)))?.picture, `https://zm.example/zm/index.php?view=image&eid=${failed.eventId}&fid=snapshot&x=snapshot`);
});

test('stopping the stage ends a running hook and resolves', async () => {
  const { hooks, run } = setup(hookOptions({ start: phase(cmd(script('forever.sh', 'touch "$D/forever.running"; sleep 30'))) }));
  const pending = run(draft('start', zmEvent()));
  // Stop once the hook really runs (it says so), not after a guessed delay.
  for (const deadline = Date.now() + 10_000; !existsSync(join(dir, 'forever.running')); ) {
    assert.ok(Date.now() < deadline, 'the hook never started');
    await new Promise((r) => setTimeout(r, 10));
  }
  const started = Date.now();
  await hooks.stop();
  assert.equal((await pending)?.hookValue, 1);
  assert.ok(Date.now() - started < 2500);
});

// ---------------------------------------------------------------------------------------------
// The real ZoneMinder schema

test('use_hook_description writes the Notes prefix once, restores it at the end after ZoneMinder rewrote Notes, and passes the event folder', async (t) => {
  const zm: ZmTestDatabase = await createZmTestDatabase();
  t.after(() => zm.drop());
  const memory = memoryLogger();
  const db = new ZmDatabase(zm.settings, memory.log);
  await db.start(new AbortController().signal);
  t.after(() => db.stop());
  const sim = await ZmSimulator.create(zm.pool);
  t.after(() => sim.idle());
  const monitor = await sim.createMonitor({ name: 'Driveway' });

  const start = script('db-start.sh', `printf '%s\\0' "$@" > "$D/db-start-args.bin"\necho '[a] detected:person:97%--SPLIT--${DETECTION}'`);
  const end = script('db-end.sh', 'echo "$4"');
  const { config } = loadConfig({
    env: {},
    overrides: {
      'customize.use_hooks': true,
      'customize.send_event_end_notification': true,
      'customize.read_alarm_cause': true,
      'hook.event_start_hook': start,
      'hook.event_end_hook': end,
      'hook.event_start_notify_on_hook_success': 'all',
      'hook.event_end_notify_on_hook_success': 'web,fcm',
      'hook.use_hook_description': true,
      'hook.hook_pass_image_path': true,
      'database.zm_conf': join(dir, 'no-zm.conf'),
    },
  });
  const stages = createNotificationStages(config, { db, log: memory.log, clock: systemClock, timeZone: 'UTC' });
  await stages.start(new AbortController().signal);
  t.after(() => stages.stop());
  const bus = new EventBus<ZmesEvents>(memory.log);
  const pipeline = new NotificationPipeline(bus, { sendStart: true, sendEnd: true, causeFromNotes: true }, memory.log);
  for (const stage of stages.stages) pipeline.addStage(stage);

  const row = async (id: bigint) => (await zm.query('SELECT Notes, StartDateTime FROM Events WHERE Id = ?', [id]))[0]!;
  const eventOf = async (id: bigint, ended: boolean): Promise<ZmEvent> => {
    const r = await row(id);
    return { eventId: id, monitorId: monitor, monitorName: 'Driveway', cause: 'Motion', notes: String(r['Notes']), startTime: 1, endTime: ended ? 2 : null, alarmFrames: 1, maxScore: 20 };
  };
  const PREFIX = '[a] detected:person:97%';
  const count = (text: string) => text.split(PREFIX).length - 1;

  // Start: Notes prefixed once, cause with the description.
  const id = await sim.startEvent(monitor, { cause: 'Motion', zones: ['zone1'] });
  const started = await pipeline.handle({ kind: 'start', event: await eventOf(id, false) });
  assert.equal(started?.cause, `${PREFIX} Motion: zone1`);
  assert.equal(String((await row(id))['Notes']), `${PREFIX} Motion: zone1`);

  // The folder argument: Medium scheme under the storage area of the event.
  const startArgs = readFileSync(join(dir, 'db-start-args.bin'), 'utf8').split('\0').slice(0, -1);
  const day = String((await row(id))['StartDateTime']).slice(0, 10);
  assert.match(startArgs[4]!, new RegExp(`^/.+/${monitor}/${day}/${id}$`), startArgs[4]);

  // ZoneMinder rewrites Notes while the event runs: the prefix is gone.
  await sim.updateEvent(id, { notes: { cause: 'Motion', zones: ['Left'] } });
  assert.equal(String((await row(id))['Notes']), 'Motion: Left, zone1');
  await sim.endEvent(id);

  // End: the prefix is re-applied once, and the end cause has it once (defect #13).
  const ended = await pipeline.handle({ kind: 'end', event: await eventOf(id, true), how: 'ended' });
  assert.equal(String((await row(id))['Notes']), `${PREFIX} Motion: Left, zone1`);
  assert.equal(ended?.cause, `${PREFIX} Motion: Left, zone1`);
  assert.deepEqual([...ended!.channels].sort(), ['fcm', 'web']);

  // An event whose Notes kept the prefix: nothing is added at the end.
  const kept = await sim.startEvent(monitor, { cause: 'Motion', zones: ['zone1'] });
  await pipeline.handle({ kind: 'start', event: await eventOf(kept, false) });
  await sim.endEvent(kept);
  const keptEnd = await pipeline.handle({ kind: 'end', event: await eventOf(kept, true), how: 'ended' });
  const keptNotes = String((await row(kept))['Notes']);
  assert.equal(count(keptNotes), 1, keptNotes);
  assert.equal(count(keptEnd!.cause), 1, keptEnd!.cause);
  await stages.hooks.idle();
});

test('createNotificationStages: rules run around the hook — a time-only mute runs no hook, cause_has sees the hook text', async (t) => {
  const hook = script('rules-hook.sh', 'touch "$D/rules-hook-$1"; echo "[a] detected:$( [ "$2" = 5 ] && echo cat || echo person ):90%"');
  const rulesPath = join(dir, 'es_rules.yml');
  writeFileSync(
    rulesPath,
    [
      'notifications:',
      '  monitors:',
      '    "4":',
      '      rules:',
      '        - {from: "12 am", to: "11:59 pm", action: mute}',
      '    "5":',
      '      rules:',
      '        - {from: "12 am", to: "11:59 pm", cause_has: "^(?!.*(plant|cat|dog)).*$", action: mute}',
      '    "6":',
      '      rules:',
      '        - {from: "12 am", to: "11:59 pm", cause_has: "person", action: critical_notify}',
    ].join('\n'),
  );
  const { config } = loadConfig({
    env: {},
    overrides: {
      'customize.use_hooks': true,
      'customize.es_rules': rulesPath,
      'hook.event_start_hook': hook,
      'hook.event_start_notify_on_hook_success': 'all',
      'hook.event_start_notify_on_hook_fail': 'none',
      'hook.use_hook_description': true,
      'database.zm_conf': join(dir, 'no-zm.conf'),
    },
  });
  const memory = memoryLogger();
  const stages = createNotificationStages(config, { db: null, log: memory.log, clock: systemClock, timeZone: 'Europe/Berlin' });
  await stages.start(new AbortController().signal);
  t.after(() => stages.stop());
  assert.equal(stages.stages.length, 3);
  const run = async (d: DraftNotification) => {
    let current: DraftNotification | null = d;
    for (const stage of stages.stages) current = current && (await stage(current));
    return current;
  };

  const muted = zmEvent({ monitorId: 4 });
  assert.equal(await run(draft('start', muted)), null);
  assert.equal(existsSync(join(dir, `rules-hook-${muted.eventId}`)), false, 'no hook for a muted event');

  const cat = zmEvent({ monitorId: 5 });
  const catOut = await run(draft('start', cat));
  assert.equal(catOut?.cause, '[a] detected:cat:90% Motion', 'the negative look-ahead lets the cat through');
  assert.ok(existsSync(join(dir, `rules-hook-${cat.eventId}`)));

  const person = zmEvent({ monitorId: 6 });
  assert.deepEqual((await run(draft('start', person)))?.rulesObject, { notification_type: 'critical' });
  const end = await run(draft('end', person));
  assert.deepEqual(end?.rulesObject, { notification_type: 'critical' }, 'the end is decided on the start cause');
});
