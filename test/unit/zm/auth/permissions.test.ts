import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  monitorVisibility,
  canSee,
  groupsContainingMonitor,
  type ZmUserRecord,
  type PermissionModel,
  type PermissionGrants,
  type RolePermissions,
  type GroupTree,
  type MonitorVisibility,
} from '../../../../src/zm/auth/permissions.js';

const MONITORS = [1, 2, 3, 4];

function user(partial: Partial<ZmUserRecord> = {}): ZmUserRecord {
  return { id: 5, username: 'viewer', events: 'View', monitors: 'View', monitorIds: null, roleId: null, ...partial };
}

const LEGACY: PermissionModel = { schema: 'legacy' };
const NO_GRANTS: PermissionGrants = { monitorPermissions: [], groupPermissions: [] };
const NO_TREE: GroupTree = { groups: [], groupMonitors: [] };

function rules(grants: Partial<PermissionGrants> = {}, role: RolePermissions | null = null, tree: GroupTree = NO_TREE): PermissionModel {
  return { schema: 'permissions', user: { ...NO_GRANTS, ...grants }, role, tree };
}

function visibleOf(visibility: MonitorVisibility, monitors = MONITORS): number[] {
  return monitors.filter((id) => canSee(visibility, id));
}

describe('ZoneMinder 1.36 (MonitorIds)', () => {
  test('an empty or NULL MonitorIds lets the user see every monitor', () => {
    for (const monitorIds of [null, '', '  ']) {
      assert.deepEqual(monitorVisibility(user({ monitorIds }), LEGACY, MONITORS), { kind: 'all' });
    }
  });

  test('a MonitorIds list limits the user to those monitors', () => {
    const visibility = monitorVisibility(user({ monitorIds: '1,3' }), LEGACY, MONITORS);
    assert.equal(visibility.kind, 'some');
    assert.deepEqual(visibleOf(visibility), [1, 3]);
    assert.equal(canSee(visibility, 99), false);
  });

  test('spaces and junk in MonitorIds are tolerated and junk matches nothing', () => {
    assert.deepEqual(visibleOf(monitorVisibility(user({ monitorIds: ' 2 , x, 4,' }), LEGACY, MONITORS)), [2, 4]);
    assert.deepEqual(monitorVisibility(user({ monitorIds: 'x' }), LEGACY, MONITORS), { kind: 'none' });
  });

  test('Events None hides everything whatever MonitorIds says', () => {
    assert.deepEqual(monitorVisibility(user({ events: 'None' }), LEGACY, MONITORS), { kind: 'none' });
    assert.deepEqual(monitorVisibility(user({ events: 'None', monitorIds: '1' }), LEGACY, MONITORS), { kind: 'none' });
    assert.deepEqual(monitorVisibility(user({ events: 'Edit' }), LEGACY, MONITORS), { kind: 'all' });
  });
});

describe('ZoneMinder 1.38 (permission tables)', () => {
  test('without any grant the Monitors permission decides for all monitors', () => {
    assert.deepEqual(monitorVisibility(user({ monitors: 'View' }), rules(), MONITORS), { kind: 'all' });
    assert.deepEqual(monitorVisibility(user({ monitors: 'Create' }), rules(), MONITORS), { kind: 'all' });
    assert.deepEqual(monitorVisibility(user({ monitors: 'None' }), rules(), MONITORS), { kind: 'none' });
  });

  test('Inherit rows are no grant at all', () => {
    const model = rules({ monitorPermissions: [{ monitorId: 2, permission: 'Inherit' }], groupPermissions: [{ groupId: 1, permission: 'Inherit' }] });
    assert.deepEqual(monitorVisibility(user(), model, MONITORS), { kind: 'all' });
  });

  test('a monitor row None hides that monitor from a user who may see monitors', () => {
    const model = rules({ monitorPermissions: [{ monitorId: 2, permission: 'None' }] });
    assert.deepEqual(visibleOf(monitorVisibility(user(), model, MONITORS)), [1, 3, 4]);
  });

  test('a monitor row View or Edit shows that monitor to a user whose Monitors is None', () => {
    const model = rules({ monitorPermissions: [{ monitorId: 2, permission: 'View' }, { monitorId: 4, permission: 'Edit' }] });
    assert.deepEqual(visibleOf(monitorVisibility(user({ monitors: 'None' }), model, MONITORS)), [2, 4]);
  });

  test('Events None does not hide monitors in 1.38, where canView checks only the monitor', () => {
    assert.deepEqual(monitorVisibility(user({ events: 'None' }), rules(), MONITORS), { kind: 'all' });
  });

  const tree: GroupTree = {
    // 10 ─┬─ 20 ── 30
    //     └─ (monitor 1)      20: monitor 2, 30: monitor 3, 40 (unrelated): monitor 4
    groups: [
      { id: 10, parentId: null },
      { id: 20, parentId: 10 },
      { id: 30, parentId: 20 },
      { id: 40, parentId: null },
    ],
    groupMonitors: [
      { groupId: 10, monitorId: 1 },
      { groupId: 20, monitorId: 2 },
      { groupId: 30, monitorId: 3 },
      { groupId: 40, monitorId: 4 },
    ],
  };

  test('a group grant covers the monitors of its child groups', () => {
    const model = rules({ groupPermissions: [{ groupId: 10, permission: 'View' }] }, null, tree);
    assert.deepEqual(visibleOf(monitorVisibility(user({ monitors: 'None' }), model, MONITORS)), [1, 2, 3]);
    const child = rules({ groupPermissions: [{ groupId: 20, permission: 'View' }] }, null, tree);
    assert.deepEqual(visibleOf(monitorVisibility(user({ monitors: 'None' }), child, MONITORS)), [2, 3]);
  });

  test('a group None beats a group View for a monitor in both', () => {
    const model = rules(
      { groupPermissions: [{ groupId: 10, permission: 'View' }, { groupId: 30, permission: 'None' }] },
      null,
      tree,
    );
    assert.deepEqual(visibleOf(monitorVisibility(user({ monitors: 'None' }), model, MONITORS)), [1, 2]);
    assert.deepEqual(visibleOf(monitorVisibility(user({ monitors: 'View' }), model, MONITORS)), [1, 2, 4]);
  });

  test('a monitor row beats the group grants', () => {
    const model = rules(
      { monitorPermissions: [{ monitorId: 3, permission: 'Edit' }], groupPermissions: [{ groupId: 10, permission: 'None' }] },
      null,
      tree,
    );
    assert.deepEqual(visibleOf(monitorVisibility(user(), model, MONITORS)), [3, 4]);
  });

  const viewerRole = (grants: Partial<PermissionGrants> = {}, monitors: RolePermissions['monitors'] = 'View'): RolePermissions => ({
    ...NO_GRANTS,
    ...grants,
    monitors,
  });

  test('a role whose Monitors is not None shows monitors to a user whose Monitors is None', () => {
    assert.deepEqual(monitorVisibility(user({ monitors: 'None', roleId: 2 }), rules({}, viewerRole()), MONITORS), { kind: 'all' });
    assert.deepEqual(monitorVisibility(user({ monitors: 'None', roleId: 2 }), rules({}, viewerRole({}, 'None')), MONITORS), {
      kind: 'none',
    });
  });

  test('role monitor and group grants apply when the user has none for that monitor', () => {
    const role = viewerRole({ monitorPermissions: [{ monitorId: 4, permission: 'None' }], groupPermissions: [{ groupId: 20, permission: 'None' }] });
    assert.deepEqual(visibleOf(monitorVisibility(user({ roleId: 2 }), rules({}, role, tree), MONITORS)), [1]);
  });

  test("the user's own grant beats the role's grant", () => {
    const role = viewerRole({ monitorPermissions: [{ monitorId: 3, permission: 'None' }] });
    const model = rules({ monitorPermissions: [{ monitorId: 3, permission: 'View' }] }, role);
    assert.deepEqual(visibleOf(monitorVisibility(user({ monitors: 'None', roleId: 2 }), model, MONITORS)), [1, 2, 3, 4]);
  });

  test('with grants, the result lists only current monitors, and a grant that hides them all gives none', () => {
    const model = rules({ monitorPermissions: [{ monitorId: 1, permission: 'View' }] });
    assert.deepEqual(monitorVisibility(user({ monitors: 'None' }), model, [2, 3]), { kind: 'none' });
    const some = monitorVisibility(user({ monitors: 'None' }), model, [1, 2]);
    assert.equal(some.kind, 'some');
    assert.deepEqual(some.kind === 'some' ? [...some.ids] : [], [1]);
  });

  test('a cycle in group parents neither hangs nor loses monitors', () => {
    const cyclic: GroupTree = {
      groups: [
        { id: 1, parentId: 2 },
        { id: 2, parentId: 1 },
      ],
      groupMonitors: [{ groupId: 1, monitorId: 7 }],
    };
    assert.deepEqual([...(groupsContainingMonitor(cyclic).get(7) ?? [])].sort(), [1, 2]);
    const model = rules({ groupPermissions: [{ groupId: 2, permission: 'View' }] }, null, cyclic);
    assert.deepEqual(visibleOf(monitorVisibility(user({ monitors: 'None' }), model, [7, 8]), [7, 8]), [7]);
  });
});

test('canSee answers for each kind of visibility', () => {
  assert.equal(canSee({ kind: 'all' }, 123), true);
  assert.equal(canSee({ kind: 'none' }, 1), false);
  assert.equal(canSee({ kind: 'some', ids: new Set([1]) }, 1), true);
  assert.equal(canSee({ kind: 'some', ids: new Set([1]) }, 2), false);
});
