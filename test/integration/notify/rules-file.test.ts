import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../../src/clock.js';
import { systemClock } from '../../../src/clock.js';
import { RulesFile } from '../../../src/notify/rules/rules-file.js';
import { memoryLogger } from '../../helpers/memory-log.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'zmes-rules-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A clock whose time only moves when told. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = 1_000_000;
  return { ...systemClock, now: () => now, advance: (ms) => (now += ms) };
}

const YAML_RULES = `notifications:
  monitors:
    "999":
      rules:
        - time_format: "%I:%M %p"
          from: "9:30 pm"
          to: "1 am"
          daysofweek: "Mon,Tue,Wed"
          cause_has: "person"
          action: mute
        - from: "3 am"
          to: "6 am"
          cause_has: "^(?!.*(plant|cat|dog)).*$"
          action: mute
    3:
      rules:
        - from: "5pm"
          to: "6 pm"
          action: mute
`;

test('the shipped YAML example loads; a bad rule is skipped with an error naming it', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'es_rules.yml');
  writeFileSync(path, YAML_RULES);
  const memory = memoryLogger();
  const file = new RulesFile({ path, log: memory.log, clock: systemClock });
  const rules = await file.load();
  assert.equal(rules.get(999)?.length, 2);
  assert.equal(rules.get(3), undefined);
  assert.equal(memory.grep(/monitor 3 rule 1 skipped: from "5pm" does not match/).length, 1);
  assert.equal(memory.grep(/loaded: 2 rules for 1 monitor$/).length, 1);
});

test('v6 JSON rules load, by extension or by content', async (t) => {
  const dir = tempDir(t);
  const json = JSON.stringify({
    notifications: { monitors: { '1': { rules: [{ comment: 'nightly', from: '10 pm', to: '6 am', action: 'critical_notify' }] } } },
  });
  for (const name of ['es_rules.json', 'rules.conf']) {
    const path = join(dir, name);
    writeFileSync(path, json);
    const rules = await new RulesFile({ path, log: memoryLogger().log, clock: systemClock }).load();
    assert.equal(rules.get(1)?.[0]?.action, 'critical_notify', name);
  }
});

test('a changed file is re-read at the next use after the check interval; unchanged files are not re-read', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'es_rules.yml');
  writeFileSync(path, YAML_RULES);
  const clock = manualClock();
  const memory = memoryLogger();
  const file = new RulesFile({ path, log: memory.log, clock, checkIntervalMs: 1000 });
  assert.equal((await file.current()).get(999)?.length, 2);

  writeFileSync(path, 'notifications:\n  monitors:\n    "7":\n      rules:\n        - {from: "1 am", to: "2 am", action: mute}\n');
  utimesSync(path, new Date(), new Date(Date.now() + 5000));
  assert.equal((await file.current()).get(999)?.length, 2, 'within the interval: the old rules');
  clock.advance(1001);
  const reloaded = await file.current();
  assert.equal(reloaded.get(999), undefined);
  assert.equal(reloaded.get(7)?.length, 1);
  assert.equal(memory.grep(/reloaded: 1 rule for 1 monitor/).length, 1);
  clock.advance(1001);
  await file.current();
  assert.equal(memory.grep(/loaded/).length, 2, 'an unchanged file is not parsed again');
});

test('a missing, unreadable or malformed file means no rules, with one error line per problem', async (t) => {
  const dir = tempDir(t);
  const clock = manualClock();
  const memory = memoryLogger();
  const path = join(dir, 'es_rules.yml');
  const file = new RulesFile({ path, log: memory.log, clock, checkIntervalMs: 0 });
  assert.equal((await file.current()).size, 0);
  assert.equal((await file.current()).size, 0);
  assert.equal(memory.grep(/cannot be read .*ENOENT.*no rules applied/).length, 1, 'logged once');

  writeFileSync(path, 'notifications: [unclosed\n');
  assert.equal((await file.current()).size, 0);
  assert.equal(memory.grep(/is not valid YAML/).length, 1);

  writeFileSync(path, YAML_RULES);
  assert.equal((await file.current()).get(999)?.length, 2, 'recovers once fixed');

  // Root reads any file, so "unreadable" is shown with a folder in the file's place.
  const folder = new RulesFile({ path: dir, log: memory.log, clock, checkIntervalMs: 0 });
  assert.equal((await folder.current()).size, 0);
  assert.equal(memory.grep(/cannot be read .*EISDIR/).length, 1);
});
