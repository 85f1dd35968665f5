/**
 * Which monitors a ZoneMinder user may receive events for (zoneminder.md §7.2). Pure: the
 * users repository loads the rows, this decides. Two schemas:
 * - `legacy` (≤ 1.37.26, i.e. no Monitors_Permissions table): `Users.MonitorIds` and `Events`;
 * - `permissions` (Monitors_Permissions exists, 1.37.27+ / 1.38 / master): the ordered rules of
 *   ZoneMinder's visibleMonitor. Between 1.37.27 and 1.37.76 both exist; ZoneMinder already
 *   reads the permission tables there, so the caller should pick `permissions` whenever the
 *   table exists.
 */

/** `Users.Events` / `Users.Monitors` / `User_Roles.Monitors` (`Create` exists from 1.38). */
export type ZmAccess = 'None' | 'View' | 'Edit' | 'Create';
/** `Monitors_Permissions.Permission` and friends. */
export type ZmPermission = 'Inherit' | 'None' | 'View' | 'Edit';

export interface ZmUserRecord {
  readonly id: number;
  readonly username: string;
  readonly events: ZmAccess;
  readonly monitors: ZmAccess;
  /** `Users.MonitorIds` (legacy schema); `null` when NULL or when the column does not exist. */
  readonly monitorIds: string | null;
  /** `Users.RoleId` (1.38+); `null` when unset. */
  readonly roleId: number | null;
}

export interface MonitorPermissionRow {
  readonly monitorId: number;
  readonly permission: ZmPermission;
}

export interface GroupPermissionRow {
  readonly groupId: number;
  readonly permission: ZmPermission;
}

/** One set of explicit grants: the user's own, or its role's. */
export interface PermissionGrants {
  /** Rows of Monitors_Permissions (or Role_Monitors_Permissions) for this user (role). */
  readonly monitorPermissions: readonly MonitorPermissionRow[];
  /** Rows of Groups_Permissions (or Role_Groups_Permissions) for this user (role). */
  readonly groupPermissions: readonly GroupPermissionRow[];
}

export interface RolePermissions extends PermissionGrants {
  /** `User_Roles.Monitors`. */
  readonly monitors: ZmAccess;
}

/** The group tree, shared by all users. */
export interface GroupTree {
  /** `Groups (Id, ParentId)`. */
  readonly groups: readonly { readonly id: number; readonly parentId: number | null }[];
  /** `Groups_Monitors (GroupId, MonitorId)`. */
  readonly groupMonitors: readonly { readonly groupId: number; readonly monitorId: number }[];
}

export type PermissionModel =
  | { readonly schema: 'legacy' }
  | {
      readonly schema: 'permissions';
      readonly user: PermissionGrants;
      /** The user's role (User_Roles row + role grants); `null` when RoleId is NULL or dangling. */
      readonly role: RolePermissions | null;
      readonly tree: GroupTree;
    };

export type MonitorVisibility =
  | { readonly kind: 'all' }
  | { readonly kind: 'some'; readonly ids: ReadonlySet<number> }
  | { readonly kind: 'none' };

export const VISIBLE_ALL: MonitorVisibility = Object.freeze({ kind: 'all' });
export const VISIBLE_NONE: MonitorVisibility = Object.freeze({ kind: 'none' });

export function canSee(visibility: MonitorVisibility, monitorId: number): boolean {
  switch (visibility.kind) {
    case 'all':
      return true;
    case 'none':
      return false;
    case 'some':
      return visibility.ids.has(monitorId);
  }
}

/**
 * The user's visibility over `monitorIds` (the current monitor list). `all` is only returned
 * when the answer does not depend on the monitor (so it also holds for monitors added later);
 * otherwise the caller must recompute on each monitor reload.
 */
export function monitorVisibility(user: ZmUserRecord, model: PermissionModel, monitorIds: readonly number[]): MonitorVisibility {
  return model.schema === 'legacy' ? legacyVisibility(user) : rulesVisibility(user, model, monitorIds);
}

// ---------------------------------------------------------------------------------------------
// ZM ≤ 1.37.26

/** Viewing events needs Events View/Edit and a visible monitor; MonitorIds empty/NULL = all. */
function legacyVisibility(user: ZmUserRecord): MonitorVisibility {
  if (user.events !== 'View' && user.events !== 'Edit') return VISIBLE_NONE;
  const list = user.monitorIds?.trim() ?? '';
  if (list === '') return VISIBLE_ALL;
  const ids = new Set<number>();
  for (const part of list.split(',')) {
    const text = part.trim();
    // ZoneMinder compares the list's strings with the id, so only plain decimal ids can match.
    if (/^\d{1,15}$/.test(text)) ids.add(Number(text));
  }
  return ids.size === 0 ? VISIBLE_NONE : { kind: 'some', ids };
}

// ---------------------------------------------------------------------------------------------
// ZM 1.37.27+ / 1.38 / master

type Decision = 'visible' | 'hidden' | undefined;

function rulesVisibility(
  user: ZmUserRecord,
  model: Extract<PermissionModel, { schema: 'permissions' }>,
  monitorIds: readonly number[],
): MonitorVisibility {
  // Rules 3b and 4 together: with a role whose Monitors is not None the fallback is visible;
  // otherwise it is the user's own Monitors permission.
  const fallbackVisible = user.monitors !== 'None' || (model.role !== null && model.role.monitors !== 'None');
  const grantSets = model.role === null ? [model.user] : [model.user, model.role];
  const explicit = grantSets.some(hasExplicitGrant);
  if (!explicit) return fallbackVisible ? VISIBLE_ALL : VISIBLE_NONE;

  const groupsOf = groupsContainingMonitor(model.tree);
  const ids = new Set<number>();
  for (const monitorId of monitorIds) {
    const containing = groupsOf.get(monitorId) ?? EMPTY_SET;
    let decision: Decision;
    for (const grants of grantSets) {
      decision = decideByGrants(grants, monitorId, containing);
      if (decision !== undefined) break;
    }
    if (decision === 'visible' || (decision === undefined && fallbackVisible)) ids.add(monitorId);
  }
  return ids.size === 0 ? VISIBLE_NONE : { kind: 'some', ids };
}

const EMPTY_SET: ReadonlySet<number> = new Set();

function hasExplicitGrant(grants: PermissionGrants): boolean {
  return (
    grants.monitorPermissions.some((row) => row.permission !== 'Inherit') ||
    grants.groupPermissions.some((row) => row.permission !== 'Inherit')
  );
}

/** Rules 1 and 2 for one grant set: the monitor's own row, then its groups (None beats View). */
function decideByGrants(grants: PermissionGrants, monitorId: number, containingGroups: ReadonlySet<number>): Decision {
  for (const row of grants.monitorPermissions) {
    if (row.monitorId !== monitorId || row.permission === 'Inherit') continue;
    return row.permission === 'None' ? 'hidden' : 'visible';
  }
  let anyVisible = false;
  for (const row of grants.groupPermissions) {
    if (row.permission === 'Inherit' || !containingGroups.has(row.groupId)) continue;
    if (row.permission === 'None') return 'hidden';
    anyVisible = true;
  }
  return anyVisible ? 'visible' : undefined;
}

/**
 * For each monitor, every group that contains it directly or through a child group (a group's
 * monitors include its descendants'). Parent chains are walked with a visited set, so a
 * ParentId cycle in a damaged table cannot loop.
 */
export function groupsContainingMonitor(tree: GroupTree): Map<number, Set<number>> {
  const parentOf = new Map<number, number | null>();
  for (const group of tree.groups) parentOf.set(group.id, group.parentId);
  const result = new Map<number, Set<number>>();
  for (const { groupId, monitorId } of tree.groupMonitors) {
    let set = result.get(monitorId);
    if (set === undefined) result.set(monitorId, (set = new Set()));
    let current: number | null | undefined = groupId;
    while (current !== null && current !== undefined && !set.has(current)) {
      set.add(current);
      current = parentOf.get(current);
    }
  }
  return result;
}
