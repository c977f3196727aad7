import { ALL_PERMISSIONS } from './permissions.js';

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
  /** null: every permission. */
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
 * Assignments to grants. The default role applies only to a user with no
 * assignment at all. A bootstrap admin holds every permission everywhere,
 * whatever a tenant has done to its roles. Assignments of a role that no
 * longer exists grant nothing.
 */
export function resolvePermissions(input: ResolutionInput): EffectivePermissions {
  const assignments: Assignment[] = [...input.assignments];
  if (assignments.length === 0 && !input.isBootstrapAdmin) {
    assignments.push({ roleName: input.defaultRole, scope: ALL_ROOMS });
  }
  const grants: Grant[] = input.isBootstrapAdmin ? [{ scope: ALL_ROOMS, permissions: null }] : [];
  for (const { roleName, scope } of assignments) {
    const permissions = input.rolePermissions.get(roleName);
    if (!permissions) continue;
    grants.push({ scope, permissions: permissions.includes(ALL_PERMISSIONS) ? null : new Set(permissions) });
  }
  return new EffectivePermissions(grants);
}
