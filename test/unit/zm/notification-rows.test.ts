import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { notificationDevice, parseNotificationRow, type NotificationRow } from '../../../src/zm/notification-rows.js';
import { filterInterval } from '../../../src/domain/monitor-filter.js';

function row(overrides: Partial<NotificationRow> = {}): NotificationRow {
  return {
    id: 7,
    userId: 3,
    username: 'alice',
    token: 'tok-1',
    platform: 'android',
    monitorList: null,
    interval: '0',
    pushState: 'enabled',
    profile: null,
    badgeCount: 0,
    lastNotifiedAt: null,
    updatedAt: 1_800_000_000,
    ...overrides,
  };
}

const auth = { authEnabled: true };

describe('parseNotificationRow', () => {
  it('reads the driver values: ids as numbers, UNIX_TIMESTAMP as bigint or decimal text, Interval as text', () => {
    const parsed = parseNotificationRow({
      Id: 5, UserId: 2, Username: 'bob', Token: 'abc', Platform: 'ios', MonitorList: '1,2', IntervalText: '30',
      PushState: 'enabled', Profile: 'Home', BadgeCount: 4, LastNotifiedAt: 1_800_000_100n, UpdatedAt: '1800000000.500000',
    });
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value, {
      id: 5, userId: 2, username: 'bob', token: 'abc', platform: 'ios', monitorList: '1,2', interval: '30',
      pushState: 'enabled', profile: 'Home', badgeCount: 4, lastNotifiedAt: 1_800_000_100, updatedAt: 1_800_000_000.5,
    });
  });

  it('refuses only a row without a usable Id; NULLs become nulls', () => {
    assert.equal(parseNotificationRow({ Id: null }).ok, false);
    assert.equal(parseNotificationRow('x').ok, false);
    const parsed = parseNotificationRow({ Id: 1n, Token: null, BadgeCount: null });
    assert.ok(parsed.ok);
    assert.equal(parsed.value.token, '');
    assert.equal(parsed.value.userId, null);
    assert.equal(parsed.value.badgeCount, 0);
  });
});

describe('notificationDevice', () => {
  it('maps a clean row: user, platform, badge, times in ms, zmNinjaNg profile', () => {
    const { device, problems } = notificationDevice(row({ platform: 'iOS', profile: ' Home ', badgeCount: 2, lastNotifiedAt: 1_800_000_050 }), auth);
    assert.deepEqual(problems, []);
    assert.ok(device);
    assert.equal(device.platform, 'ios');
    assert.equal(device.zmUser, 'alice');
    assert.equal(device.profile, 'Home');
    assert.equal(device.badgeCount, 2);
    assert.equal(device.lastNotifiedAt, 1_800_000_050_000);
    assert.equal(device.updatedAt, 1_800_000_000_000);
    assert.equal(device.pushstate, 'enabled');
  });

  it('MonitorList empty, NULL or -1 means all monitors, with Interval as the one interval', () => {
    for (const monitorList of [null, '', ' ', '-1']) {
      const { device } = notificationDevice(row({ monitorList, interval: '90' }), auth);
      assert.equal(device?.filter.kind, 'all', String(monitorList));
      assert.equal(filterInterval(device.filter, 12), 90);
    }
    const { device } = notificationDevice(row({ interval: '0' }), auth);
    assert.deepEqual(device?.filter, { kind: 'all' });
  });

  it('one Interval applies to every listed monitor; a comma list pairs by position like intlist', () => {
    const one = notificationDevice(row({ monitorList: '1, 2,3', interval: '60' }), auth).device!;
    assert.deepEqual([1, 2, 3, 4].map((m) => filterInterval(one.filter, m)), [60, 60, 60, undefined]);
    const list = notificationDevice(row({ monitorList: '1,2', interval: '10,20' }), auth).device!;
    assert.deepEqual([1, 2].map((m) => filterInterval(list.filter, m)), [10, 20]);
    const none = notificationDevice(row({ monitorList: '4', interval: null }), auth).device!;
    assert.equal(filterInterval(none.filter, 4), 0);
  });

  it('is lenient with garbage lists: bad entries are ignored and noted, with the text sanitised', () => {
    const { device, problems } = notificationDevice(row({ monitorList: '1,a\u0007c,2', interval: '5,x,-3' }), auth);
    assert.ok(device);
    assert.deepEqual([1, 2].map((m) => filterInterval(device.filter, m)), [5, 0]);
    assert.ok(problems.some((p) => /^MonitorList entry 2 "a\?c" is not a monitor id/.test(p)), problems.join('|'));
    assert.ok(problems.some((p) => /Interval entry "x"/.test(p)));
    assert.ok(problems.some((p) => /Interval entry "-3"/.test(p)));
    const nothing = notificationDevice(row({ monitorList: 'garbage' }), auth);
    assert.ok(nothing.device, 'kept, but it matches no monitor');
    assert.equal(filterInterval(nothing.device.filter, 1), undefined);
    assert.ok(nothing.problems.some((p) => /names no valid monitor/.test(p)));
  });

  it('an Interval list without a MonitorList throttles by its smallest entry, noted', () => {
    const { device, problems } = notificationDevice(row({ interval: '30,10' }), auth);
    assert.equal(filterInterval(device!.filter, 1), 10);
    assert.equal(problems.length, 1);
  });

  it('skips rows it cannot push to, saying why', () => {
    const cases: [Partial<NotificationRow>, RegExp][] = [
      [{ token: '  ' }, /empty Token; skipped/],
      [{ token: 'a b' }, /white space/],
      [{ platform: 'windows' }, /unknown Platform "windows"; skipped/],
      [{ platform: null }, /unknown Platform "NULL"/],
      [{ pushState: 'maybe' }, /unknown PushState "maybe"/],
      [{ username: null }, /UserId 3 is not a ZoneMinder user/],
      [{ userId: null, username: null }, /no UserId/],
    ];
    for (const [overrides, why] of cases) {
      const { device, problems } = notificationDevice(row(overrides), auth);
      assert.equal(device, undefined, JSON.stringify(overrides));
      assert.match(problems.join('; '), why);
    }
  });

  it('keeps a disabled row (the channel skips it) and a row without user when auth is off', () => {
    assert.equal(notificationDevice(row({ pushState: 'disabled' }), auth).device?.pushstate, 'disabled');
    assert.equal(notificationDevice(row({ pushState: null }), auth).device?.pushstate, 'enabled');
    const open = notificationDevice(row({ userId: null, username: null }), { authEnabled: false }).device;
    assert.ok(open);
    assert.equal(open.zmUser, undefined);
  });
});
