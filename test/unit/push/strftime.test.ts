import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStrftime, resolveDateLocale } from '../../../src/push/strftime.js';

const utc = createStrftime({ timeZone: 'UTC' });
// Thursday 2026-03-05 14:07:09 UTC
const afternoon = new Date(Date.UTC(2026, 2, 5, 14, 7, 9));
// Sunday 2026-01-04 00:05:01 UTC
const midnight = new Date(Date.UTC(2026, 0, 4, 0, 5, 1));

test('the classic default format prints 12-hour time, AM/PM, day and short month', () => {
  assert.equal(utc('%I:%M %p, %d-%b', afternoon), '02:07 PM, 05-Mar');
  assert.equal(utc('%I:%M %p, %d-%b', midnight), '12:05 AM, 04-Jan');
});

test('every documented directive formats as strftime does in the C locale', () => {
  assert.equal(utc('%H %M %S', afternoon), '14 07 09');
  assert.equal(utc('%d/%m/%Y %y', afternoon), '05/03/2026 26');
  assert.equal(utc('%a %A', afternoon), 'Thu Thursday');
  assert.equal(utc('%b %B %h', afternoon), 'Mar March Mar');
  assert.equal(utc('[%e]', afternoon), '[ 5]');
  assert.equal(utc('%D %F %T %R', afternoon), '03/05/26 2026-03-05 14:07:09 14:07');
  assert.equal(utc('%r', midnight), '12:05:01 AM');
  assert.equal(utc('%j %u %w', midnight), '004 7 0');
  assert.equal(utc('%s %z', afternoon), `${Math.floor(afternoon.getTime() / 1000)} +0000`);
  assert.equal(utc('100%%', afternoon), '100%');
});

test('an unknown directive is copied through, and "%-d" drops the padding', () => {
  assert.equal(utc('%Q %-d %-I %-j', afternoon), '%Q 5 2 64');
});

test('a time zone shifts the fields and the offset', () => {
  const berlin = createStrftime({ timeZone: 'Europe/Berlin' });
  assert.equal(berlin('%H:%M %z %d', afternoon), '15:07 +0100 05');
  const kolkata = createStrftime({ timeZone: 'Asia/Kolkata' });
  assert.equal(kolkata('%H:%M %z', afternoon), '19:37 +0530');
});

test('a date_locale gives localized day and month names', () => {
  const { locale } = resolveDateLocale('de_DE.UTF-8');
  assert.equal(locale, 'de-DE');
  const de = createStrftime({ locale, timeZone: 'UTC' });
  assert.equal(de('%A %d. %B', afternoon), 'Donnerstag 05. März');
});

test('an unusable date_locale is reported and the C locale is used', () => {
  const resolved = resolveDateLocale('xx_NOWHERE!');
  assert.equal(resolved.locale, undefined);
  assert.match(resolved.warning ?? '', /not a known locale/);
  assert.deepEqual(resolveDateLocale('C'), { locale: undefined });
  assert.deepEqual(resolveDateLocale(null), { locale: undefined });
});
