/** Matches the rooms an assignment applies to: `*`, an exact name, or a prefix ending in `*`. */
export const ALL_ROOMS = '*';

export function isValidScope(scope: string): boolean {
  if (scope === ALL_ROOMS) return true;
  const name = scope.endsWith('*') ? scope.slice(0, -1) : scope;
  return /^[A-Za-z0-9._:-]{1,128}$/.test(name);
}

export interface Assignment {
  roleName: string;
  scope: string;
}

export interface Grant {
  scope: string;
  /** null: every permission (a bootstrap admin's). */
  permissions: ReadonlySet<string> | null;
}

function scopeCovers(scope: string, room: string | undefined): boolean {
  if (scope === ALL_ROOMS) return true;
  // Permissions that are not about a room (admin.manage) need an unscoped grant.
  if (room === undefined) return false;
  return scope.endsWith('*') ? room.startsWith(scope.slice(0, -1)) : room === scope;
}

/** What one user may do in one tenant, computed once and kept in the permission cache. */
export class EffectivePermissions {
  constructor(readonly grants: readonly Grant[]) {}

  /** Whether the user holds `permission` in `room` (or, without a room, everywhere). */
  can(permission: string, room?: string): boolean {
    for (const grant of this.grants) {
      if ((grant.permissions === null || grant.permissions.has(permission)) && scopeCovers(grant.scope, room)) return true;
    }
    return false;
  }
}

export interface ResolutionInput {
  /** The user's assignments in their tenant. */
  assignments: readonly Assignment[];
  /** Permissions of each role as seen from the user's tenant (the tenant's own definition wins over the shared one). */
  rolePermissions: ReadonlyMap<string, readonly string[]>;
  defaultRole: string;
  isBootstrapAdmin: boolean;
}

/**
 * What is shared between users, by the role table it was made from (a
 * tenant's table lives until its roles change): a role's permission set, and
 * the whole answer for users who hold only the default role. Most users hold
 * the same few roles; each user's own copy cost half a kilobyte per socket.
 */
const permissionSets = new WeakMap<readonly string[], ReadonlySet<string>>();
const defaultRoleOnly = new WeakMap<ResolutionInput['rolePermissions'], Map<string, EffectivePermissions>>();

function permissionSet(permissions: readonly string[]): ReadonlySet<string> {
  let set = permissionSets.get(permissions);
  if (set === undefined) {
    set = new Set(permissions);
    permissionSets.set(permissions, set);
  }
  return set;
}

function grantsOf(assignments: readonly Assignment[], rolePermissions: ResolutionInput['rolePermissions']): Grant[] {
  const grants: Grant[] = [];
  for (const { roleName, scope } of assignments) {
    const permissions = rolePermissions.get(roleName);
    if (permissions) grants.push({ scope, permissions: permissionSet(permissions) });
  }
  return grants;
}

/**
 * Assignments to grants. The default role applies only to a user with no
 * assignment at all. A bootstrap admin holds every permission everywhere,
 * whatever a tenant has done to its roles. Assignments of a role that no
 * longer exists grant nothing.
 */
export function resolvePermissions(input: ResolutionInput): EffectivePermissions {
  const { assignments, rolePermissions, defaultRole, isBootstrapAdmin } = input;
  if (isBootstrapAdmin) return new EffectivePermissions([{ scope: ALL_ROOMS, permissions: null }, ...grantsOf(assignments, rolePermissions)]);
  if (assignments.length > 0) return new EffectivePermissions(grantsOf(assignments, rolePermissions));
  let byRole = defaultRoleOnly.get(rolePermissions);
  if (!byRole) defaultRoleOnly.set(rolePermissions, (byRole = new Map()));
  let shared = byRole.get(defaultRole);
  if (!shared) byRole.set(defaultRole, (shared = new EffectivePermissions(grantsOf([{ roleName: defaultRole, scope: ALL_ROOMS }], rolePermissions))));
  return shared;
}
