import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_CHANNELS, type DraftNotification, type NotificationStage } from '../../../src/notify/pipeline.js';
import { createRulesStages } from '../../../src/notify/rules/rules-stage.js';
import { parseRules, type RuleSet } from '../../../src/notify/rules/rules.js';
import type { Phase } from '../../../src/domain/notification.js';
import type { ZmEvent } from '../../../src/domain/zm-event.js';
import { memoryLogger } from '../../helpers/memory-log.js';

const event: ZmEvent = {
  eventId: 42n,
  monitorId: 7,
  monitorName: 'Garden',
  cause: 'Motion',
  notes: 'Motion: lawn',
  startTime: 1_800_000_000,
  endTime: null,
  alarmFrames: 1,
  maxScore: 10,
};

function draft(phase: Phase, cause: string): DraftNotification {
  return { phase, event, cause, detectionJson: [], rulesObject: {}, picture: undefined, hookValue: 0, channels: new Set(ALL_CHANNELS) };
}

function ruleSet(list: unknown[]): RuleSet {
  return parseRules({ notifications: { monitors: { '7': { rules: list } } } }).rules;
}

/** Monday 2026-06-01 at 10:00 UTC. */
const MONDAY_10 = Date.parse('2026-06-01T10:00:00Z');

function setup(list: unknown[], hookCause: (cause: string) => string = (c) => c, mayChange = true) {
  const memory = memoryLogger();
  let hookRuns = 0;
  const set = ruleSet(list);
  const rules = createRulesStages({
    rules: async () => set,
    log: memory.log,
    now: () => MONDAY_10,
    timeZone: 'UTC',
    causeMayChange: () => mayChange,
  });
  const hook: NotificationStage = (d) => {
    hookRuns++;
    d.cause = hookCause(d.cause);
    return d;
  };
  const run = async (d: DraftNotification) => {
    let current: DraftNotification | null = d;
    for (const stage of [rules.before, hook, rules.after]) {
      if (current === null) break;
      current = await stage(current);
    }
    return current;
  };
  return { run, hookRuns: () => hookRuns, memory };
}

test('a time-only mute drops the notification before the hook runs', async () => {
  const s = setup([{ from: '9 am', to: '11 am', action: 'mute' }]);
  assert.equal(await s.run(draft('start', 'Motion')), null);
  assert.equal(s.hookRuns(), 0);
  assert.equal(s.memory.grep(/muted by monitor 7 rule 1/).length, 1);
});

test('cause_has sees the hook text: the hook runs, then the rule mutes on "detected:person"', async () => {
  const s = setup([{ from: '9 am', to: '11 am', cause_has: 'person', action: 'mute' }], (c) => `[a] detected:person:97% ${c}`);
  assert.equal(await s.run(draft('start', 'Motion')), null);
  assert.equal(s.hookRuns(), 1);
  const other = setup([{ from: '9 am', to: '11 am', cause_has: 'person', action: 'mute' }], (c) => `[a] detected:car:80% ${c}`);
  const kept = await other.run(draft('start', 'Motion'));
  assert.equal(kept?.cause, '[a] detected:car:80% Motion');
});

test('first match wins across the hook: an earlier cause_has rule that fails lets a later rule decide', async () => {
  const rules = [
    { from: '9 am', to: '11 am', cause_has: 'car', action: 'critical_notify' },
    { from: '9 am', to: '11 am', action: 'mute' },
  ];
  const car = setup(rules, (c) => `detected:car ${c}`);
  const kept = await car.run(draft('start', 'Motion'));
  assert.deepEqual(kept?.rulesObject, { notification_type: 'critical' });
  const person = setup(rules, (c) => `detected:person ${c}`);
  assert.equal(await person.run(draft('start', 'Motion')), null);
  assert.equal(person.hookRuns(), 1, 'the hook had to run to know');
});

test('without a hook that can change the cause, cause_has is decided before it', async () => {
  const s = setup([{ from: '9 am', to: '11 am', cause_has: 'motion', action: 'mute' }], (c) => c, false);
  assert.equal(await s.run(draft('start', 'Motion')), null);
  assert.equal(s.hookRuns(), 0);
});

test('critical_notify sets the RulesObject and keeps every channel', async () => {
  const s = setup([{ from: '12 am', to: '11:59 pm', action: 'critical_notify' }]);
  const kept = await s.run(draft('start', 'Motion'));
  assert.deepEqual(kept?.rulesObject, { notification_type: 'critical' });
  assert.deepEqual([...kept!.channels].sort(), ['api', 'fcm', 'mqtt', 'web']);
});

test('the end is decided on the start cause when it carries the detection', async () => {
  // Start: muted on the hook's "person"; the start cause is remembered.
  const start = setup([{ from: '9 am', to: '11 am', cause_has: 'person', action: 'mute' }], (c) => `[a] detected:person ${c}`);
  assert.equal(await start.run(draft('start', 'Motion')), null);
  // Same stages (same memory): the end, whose Notes lack the detection, is muted as well.
  assert.equal(await start.run(draft('end', 'Motion: lawn')), null);
  assert.equal(start.hookRuns(), 1, 'decided before the end hook from the start cause');
  // A fresh stage set that never saw the start falls back to the end cause (an end hook without detection).
  const fresh = setup([{ from: '9 am', to: '11 am', cause_has: 'person', action: 'mute' }]);
  assert.notEqual(await fresh.run(draft('end', 'Motion: lawn')), null);
});

test('an unknown action allows, with one error line however often it matches', async () => {
  const s = setup([{ from: '12 am', to: '11:59 pm', action: 'party' }]);
  assert.notEqual(await s.run(draft('start', 'Motion')), null);
  assert.notEqual(await s.run(draft('start', 'Motion')), null);
  assert.equal(s.memory.lines.filter((l) => l.level === 'error').length, 1);
});

test('no rule for the monitor lets everything through untouched', async () => {
  const s = setup([]);
  const kept = await s.run(draft('start', 'Motion'));
  assert.deepEqual(kept?.rulesObject, {});
  assert.equal(kept?.cause, 'Motion');
});

test('a monitor forced by escontrol is not muted by a rule, and the log says why', async () => {
  const memory = memoryLogger();
  const set = ruleSet([{ from: '9 am', to: '11 am', action: 'mute' }]);
  const forcedDraft = draft('start', 'Motion');
  const rules = createRulesStages({
    rules: async () => set,
    log: memory.log,
    now: () => MONDAY_10,
    timeZone: 'UTC',
    forced: (d) => d === forcedDraft,
  });
  assert.equal(await rules.before(forcedDraft), forcedDraft);
  assert.equal(await rules.before(draft('start', 'Motion')), null);
  assert.equal(memory.grep(/forced by escontrol/).length, 1);
});
