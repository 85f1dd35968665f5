import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  evaluateRules,
  formatResolution,
  inWindow,
  parseRules,
  parseTimeOfDay,
  ruleCause,
  wallClock,
  type Rule,
  type WallClock,
} from '../../../src/notify/rules/rules.js';

const hm = (h: number, m = 0, s = 0) => h * 3600 + m * 60 + s;
const at = (weekday: WallClock['weekday'], h: number, m = 0, s = 0): WallClock => ({ weekday, seconds: hm(h, m, s) });

function rulesFor(monitor: number, list: unknown[]): readonly Rule[] {
  const { rules, problems } = parseRules({ notifications: { monitors: { [String(monitor)]: { rules: list } } } });
  assert.deepEqual(problems.filter((p) => p.level === 'error'), [], JSON.stringify(problems));
  return rules.get(monitor) ?? [];
}

// ---------------------------------------------------------------------------------------------
// Time parsing

test('times in the default %I:%M %p format parse as leniently as the classic server parsed them', () => {
  const cases: Array<[string, number]> = [
    ['1 am', hm(1)],
    ['5 pm', hm(17)],
    ['5 PM', hm(17)],
    ['9:30 pm', hm(21, 30)],
    ['5:00pm', hm(17)],
    ['01:00 AM', hm(1)],
    ['12 am', hm(0)],
    ['12:30 pm', hm(12, 30)],
    ['11:59 Pm', hm(23, 59)],
    ['  7:05 am  ', hm(7, 5)],
  ];
  for (const [text, seconds] of cases) {
    const parsed = parseTimeOfDay(text, '%I:%M %p');
    assert.deepEqual(parsed, { ok: true, seconds, rest: '' }, text);
  }
});

test('times the classic parser rejected are rejected: no space before pm, 24-hour values, bad minutes', () => {
  for (const text of ['5pm', '17:00', '13:00 pm', '0:30 am', '9:75 pm', 'noon', '', '5:00 xm']) {
    assert.equal(parseTimeOfDay(text, '%I:%M %p').ok, false, text);
  }
});

test('a %H:%M rule parses 24-hour times, and trailing text is reported but does not fail', () => {
  assert.deepEqual(parseTimeOfDay('17:00', '%H:%M'), { ok: true, seconds: hm(17), rest: '' });
  assert.deepEqual(parseTimeOfDay('0:05', '%H:%M'), { ok: true, seconds: hm(0, 5), rest: '' });
  assert.equal(parseTimeOfDay('24:00', '%H:%M').ok, false);
  assert.deepEqual(parseTimeOfDay('17:00 sharp', '%H:%M'), { ok: true, seconds: hm(17), rest: 'sharp' });
  assert.deepEqual(parseTimeOfDay('06:07:08', '%T'), { ok: true, seconds: hm(6, 7, 8), rest: '' });
});

test('the resolution of a format follows its finest field, and unsupported directives are refused', () => {
  assert.equal(formatResolution('%I:%M %p'), 60);
  assert.equal(formatResolution('%H:%M:%S'), 1);
  assert.equal(formatResolution('%H'), 3600);
  assert.match(String(formatResolution('%Y-%m-%d %H:%M')), /%Y is not supported/);
  assert.match(String(formatResolution('%M')), /no hour/);
});

// ---------------------------------------------------------------------------------------------
// Windows

test('a window crossing midnight holds before and after midnight (classic defect #18)', () => {
  const from = hm(21, 30);
  const to = hm(1);
  assert.equal(inWindow(from, to, hm(23)), true, '23:00 is inside 9:30 pm – 1 am');
  assert.equal(inWindow(from, to, hm(0, 30)), true);
  assert.equal(inWindow(from, to, hm(21, 30)), true, 'from is inclusive');
  assert.equal(inWindow(from, to, hm(1)), true, 'to is inclusive');
  assert.equal(inWindow(from, to, hm(1, 1)), false);
  assert.equal(inWindow(from, to, hm(12)), false);
  assert.equal(inWindow(hm(9), hm(17), hm(12)), true);
  assert.equal(inWindow(hm(9), hm(17), hm(18)), false);
});

test('"now" is cut to the format resolution, so a rule to 1 am covers the whole minute 01:00', () => {
  const rules = rulesFor(1, [{ from: '9:30 pm', to: '1 am', action: 'mute' }]);
  assert.equal(evaluateRules(rules, at('Mon', 1, 0, 59), 'Motion').kind, 'mute');
  assert.equal(evaluateRules(rules, at('Mon', 1, 1, 0), 'Motion').kind, 'allow');
  assert.equal(evaluateRules(rules, at('Mon', 23, 0), 'Motion').kind, 'mute', 'before midnight too');
});

// ---------------------------------------------------------------------------------------------
// Wall clock and DST

test('the wall clock is read in the given zone, whatever the process zone is', () => {
  const instant = Date.parse('2026-07-01T12:00:00Z');
  assert.deepEqual(wallClock(instant, 'UTC'), { weekday: 'Wed', seconds: hm(12) });
  assert.deepEqual(wallClock(instant, 'Europe/Berlin'), { weekday: 'Wed', seconds: hm(14) });
  assert.deepEqual(wallClock(instant, 'America/New_York'), { weekday: 'Wed', seconds: hm(8) });
  assert.deepEqual(wallClock(Date.parse('2026-07-01T02:00:00Z'), 'America/New_York'), { weekday: 'Tue', seconds: hm(22) });
});

test('Europe/Berlin spring-forward day (2026-03-29): 02:00–02:59 never happens, a 02:30–03:30 rule holds from 03:00 to 03:30', () => {
  const zone = 'Europe/Berlin';
  assert.deepEqual(wallClock(Date.parse('2026-03-29T00:59:59Z'), zone), { weekday: 'Sun', seconds: hm(1, 59, 59) });
  assert.deepEqual(wallClock(Date.parse('2026-03-29T01:00:00Z'), zone), { weekday: 'Sun', seconds: hm(3) });
  const rules = rulesFor(1, [{ time_format: '%H:%M', from: '02:30', to: '03:30', action: 'mute' }]);
  const decide = (iso: string) => evaluateRules(rules, wallClock(Date.parse(iso), zone), 'Motion').kind;
  assert.equal(decide('2026-03-29T00:45:00Z'), 'allow', '01:45 CET');
  assert.equal(decide('2026-03-29T01:00:00Z'), 'mute', '03:00 CEST');
  assert.equal(decide('2026-03-29T01:30:59Z'), 'mute', '03:30 CEST');
  assert.equal(decide('2026-03-29T01:31:00Z'), 'allow', '03:31 CEST');
});

test('Europe/Berlin fall-back day (2026-10-25): the repeated 02:xx hour matches a 02:15–02:45 rule twice', () => {
  const zone = 'Europe/Berlin';
  const rules = rulesFor(1, [{ from: '2:15 am', to: '2:45 am', action: 'mute' }]);
  const decide = (iso: string) => evaluateRules(rules, wallClock(Date.parse(iso), zone), 'Motion').kind;
  assert.equal(decide('2026-10-25T00:30:00Z'), 'mute', '02:30 CEST');
  assert.equal(decide('2026-10-25T00:59:00Z'), 'allow', '02:59 CEST');
  assert.equal(decide('2026-10-25T01:00:00Z'), 'allow', '02:00 CET');
  assert.equal(decide('2026-10-25T01:30:00Z'), 'mute', '02:30 CET');
  assert.equal(decide('2026-10-25T02:30:00Z'), 'allow', '03:30 CET');
});

test('America/New_York DST days behave as wall-clock rules too', () => {
  const zone = 'America/New_York';
  assert.deepEqual(wallClock(Date.parse('2026-03-08T07:00:00Z'), zone), { weekday: 'Sun', seconds: hm(3) });
  const spring = rulesFor(2, [{ from: '3 am', to: '3:15 am', action: 'critical_notify' }]);
  assert.equal(evaluateRules(spring, wallClock(Date.parse('2026-03-08T07:05:00Z'), zone), 'x').kind, 'critical', '03:05 EDT');
  assert.equal(evaluateRules(spring, wallClock(Date.parse('2026-03-08T06:05:00Z'), zone), 'x').kind, 'allow', '01:05 EST');
  const fall = rulesFor(2, [{ from: '1:15 am', to: '1:45 am', action: 'mute' }]);
  assert.equal(evaluateRules(fall, wallClock(Date.parse('2026-11-01T05:30:00Z'), zone), 'x').kind, 'mute', '01:30 EDT');
  assert.equal(evaluateRules(fall, wallClock(Date.parse('2026-11-01T06:30:00Z'), zone), 'x').kind, 'mute', '01:30 EST');
  assert.equal(evaluateRules(fall, wallClock(Date.parse('2026-11-01T07:30:00Z'), zone), 'x').kind, 'allow', '02:30 EST');
});

test('an overnight window across a DST change: 10 pm – 6 am in Berlin on the spring-forward night', () => {
  const zone = 'Europe/Berlin';
  const rules = rulesFor(1, [{ from: '10 pm', to: '6 am', action: 'mute' }]);
  const decide = (iso: string) => evaluateRules(rules, wallClock(Date.parse(iso), zone), 'Motion').kind;
  assert.equal(decide('2026-03-28T20:59:00Z'), 'allow', 'Sat 21:59 CET');
  assert.equal(decide('2026-03-28T22:30:00Z'), 'mute', 'Sat 23:30 CET');
  assert.equal(decide('2026-03-29T03:59:00Z'), 'mute', 'Sun 05:59 CEST');
  assert.equal(decide('2026-03-29T04:01:00Z'), 'allow', 'Sun 06:01 CEST');
});

// ---------------------------------------------------------------------------------------------
// Weekday, cause, order, actions

test('daysofweek is a substring match of the current day name, in any case', () => {
  const rules = rulesFor(1, [{ from: '12 am', to: '11:59 pm', daysofweek: 'Mon,Tue,wed', action: 'mute' }]);
  assert.equal(evaluateRules(rules, at('Mon', 12), 'x').kind, 'mute');
  assert.equal(evaluateRules(rules, at('Wed', 12), 'x').kind, 'mute');
  assert.equal(evaluateRules(rules, at('Thu', 12), 'x').kind, 'allow');
  const weekend = rulesFor(1, [{ from: '12 am', to: '11:59 pm', daysofweek: 'Saturday and Sunday', action: 'mute' }]);
  assert.equal(evaluateRules(weekend, at('Sat', 12), 'x').kind, 'mute');
  assert.equal(evaluateRules(weekend, at('Fri', 12), 'x').kind, 'allow');
  // Overnight with a day: the day is the one "now" falls on, as in the classic server.
  const saturdayNight = rulesFor(1, [{ from: '10 pm', to: '6 am', daysofweek: 'Sat', action: 'mute' }]);
  assert.equal(evaluateRules(saturdayNight, at('Sat', 23), 'x').kind, 'mute');
  assert.equal(evaluateRules(saturdayNight, at('Sun', 1), 'x').kind, 'allow');
});

test('cause_has is a case-insensitive regex, negative look-ahead included', () => {
  const rules = rulesFor(1, [{ from: '12 am', to: '11:59 pm', cause_has: '^(?!.*(plant|cat|dog)).*$', action: 'mute' }]);
  assert.equal(evaluateRules(rules, at('Mon', 3), '[a] detected:person:97%').kind, 'mute');
  assert.equal(evaluateRules(rules, at('Mon', 3), '[a] detected:Dog:80%').kind, 'allow');
  const person = rulesFor(1, [{ from: '12 am', to: '11:59 pm', cause_has: 'PERSON', action: 'critical_notify' }]);
  assert.equal(evaluateRules(person, at('Mon', 3), 'detected:person').kind, 'critical');
  const perlStyle = rulesFor(1, [{ from: '12 am', to: '11:59 pm', cause_has: '(?i)car', action: 'mute' }]);
  assert.equal(evaluateRules(perlStyle, at('Mon', 3), 'detected:Car').kind, 'mute', 'a leading (?i) is accepted');
});

test('the first rule whose window, day and cause all match decides', () => {
  const rules = rulesFor(1, [
    { from: '9 am', to: '5 pm', cause_has: 'car', action: 'critical_notify' },
    { from: '9 am', to: '5 pm', action: 'mute' },
    { from: '12 am', to: '11:59 pm', action: 'critical_notify' },
  ]);
  assert.equal(evaluateRules(rules, at('Mon', 10), 'detected:car').kind, 'critical');
  assert.equal(evaluateRules(rules, at('Mon', 10), 'detected:person').kind, 'mute');
  assert.equal(evaluateRules(rules, at('Mon', 20), 'detected:person').kind, 'critical');
  const first = evaluateRules(rules, at('Mon', 10), 'detected:person');
  assert.equal(first.kind === 'mute' && first.rule.label, 'monitor 1 rule 2');
});

test('without the final cause, evaluation stops at the first rule that needs it', () => {
  const rules = rulesFor(1, [
    { from: '6 pm', to: '7 pm', action: 'mute' },
    { from: '9 am', to: '5 pm', cause_has: 'car', action: 'critical_notify' },
    { from: '9 am', to: '5 pm', action: 'mute' },
  ]);
  assert.equal(evaluateRules(rules, at('Mon', 18, 30), undefined).kind, 'mute', 'decided without the cause');
  assert.equal(evaluateRules(rules, at('Mon', 10), undefined).kind, 'undecided');
  assert.equal(evaluateRules(rules, at('Mon', 22), undefined).kind, 'allow');
});

test('no rules for the monitor, or no matching rule, allows', () => {
  const { rules } = parseRules({ notifications: { monitors: { '5': { rules: [{ from: '1 am', to: '2 am', action: 'mute' }] } } } });
  assert.equal(rules.get(6), undefined);
  assert.equal(evaluateRules(rules.get(5)!, at('Mon', 12), 'x').kind, 'allow');
});

// ---------------------------------------------------------------------------------------------
// Validation

test('bad rules are skipped with an error naming them; the others stay in order', () => {
  const { rules, problems } = parseRules({
    notifications: {
      monitors: {
        '3': {
          rules: [
            { from: '5pm', to: '6 pm', action: 'mute' },
            { from: '1 am', to: '2 am', cause_has: '(unclosed', action: 'mute' },
            { from: '1 am', action: 'mute' },
            { from: '1 am', to: '2 am' },
            { time_format: '%Y %H', from: '1', to: '2', action: 'mute' },
            { comment: 'kept', from: '3 am', to: '6 am', action: 'mute' },
            { from: '7 am', to: '8 am', action: 'party' },
          ],
        },
        front: { rules: [] },
        '4': { rules: 'not a list' },
      },
    },
  });
  const errors = problems.filter((p) => p.level === 'error').map((p) => p.message);
  assert.match(errors[0]!, /monitor 3 rule 1 skipped: from "5pm" does not match time_format "%I:%M %p"/);
  assert.match(errors[1]!, /monitor 3 rule 2 skipped: cause_has "\(unclosed" is not a valid regular expression/);
  assert.match(errors[2]!, /monitor 3 rule 3 skipped: to missing/);
  assert.match(errors[3]!, /monitor 3 rule 4 skipped: action missing/);
  assert.match(errors[4]!, /monitor 3 rule 5 skipped: time_format "%Y %H": %Y is not supported/);
  assert.match(errors[5]!, /monitor 3 rule 7: unknown action "party"/);
  assert.ok(errors.some((e) => /monitor key "front" is not a monitor id/.test(e)));
  assert.ok(errors.some((e) => /monitor 4: rules is not a list/.test(e)));
  assert.deepEqual(rules.get(3)!.map((r) => r.label), ['monitor 3 rule 6', 'monitor 3 rule 7']);
  assert.equal(evaluateRules(rules.get(3)!, at('Mon', 7, 30), 'x').kind, 'unknown-action', 'an unknown action allows');
});

test('a document without notifications.monitors gives no rules and says so; an empty one is quiet', () => {
  assert.equal(parseRules({ something: 1 }).rules.size, 0);
  assert.match(parseRules({ something: 1 }).problems[0]!.message, /no notifications\.monitors/);
  assert.deepEqual(parseRules(null).problems, []);
});

test('unquoted YAML numbers for times are refused with a hint', () => {
  const { problems } = parseRules({ notifications: { monitors: { '1': { rules: [{ from: 5, to: '6 pm', action: 'mute' }] } } } });
  assert.match(problems[0]!.message, /from 5 is not text \(quote it\)/);
});

// ---------------------------------------------------------------------------------------------
// Cause used

test('the cause rules use: start cause, or at end the end cause when only it has the detection', () => {
  assert.equal(ruleCause('start', undefined, 'Motion'), 'Motion');
  assert.equal(ruleCause('end', '[a] detected:person Motion', 'Motion: zone1'), '[a] detected:person Motion');
  assert.equal(ruleCause('end', 'Motion', '[a] detected:car Motion: zone1'), '[a] detected:car Motion: zone1');
  assert.equal(ruleCause('end', 'Motion', 'Motion: zone1'), 'Motion');
  assert.equal(ruleCause('end', undefined, 'Motion: zone1'), 'Motion: zone1');
});
