import { EffectivePermissions, isValidScope, resolvePermissions, type Assignment } from './permission-resolution.js';
import { Permission } from './permissions.js';

const ROLES: ReadonlyMap<string, readonly string[]> = new Map<string, readonly string[]>([
  ['admin', Object.values(Permission)],
  ['member', [Permission.ROOM_JOIN, Permission.MESSAGE_SEND, Permission.HISTORY_READ]],
  ['reader', [Permission.ROOM_JOIN, Permission.HISTORY_READ]],
  ['moderator', [Permission.MESSAGE_DELETE_ANY]],
  ['manager', [Permission.ADMIN_MANAGE]],
  ['empty', []],
]);

function resolve(
  assignments: Assignment[],
  options: { rolePermissions?: ReadonlyMap<string, readonly string[]>; defaultRole?: string; isBootstrapAdmin?: boolean } = {},
): EffectivePermissions {
  return resolvePermissions({
    assignments,
    rolePermissions: options.rolePermissions ?? ROLES,
    defaultRole: options.defaultRole ?? 'member',
    isBootstrapAdmin: options.isBootstrapAdmin ?? false,
  });
}

describe('resolvePermissions', () => {
  describe('scopes', () => {
    it('scope * covers every room', () => {
      const p = resolve([{ roleName: 'reader', scope: '*' }]);
      expect(p.can(Permission.ROOM_JOIN, 'general')).toBe(true);
      expect(p.can(Permission.ROOM_JOIN, 'support-1')).toBe(true);
      expect(p.can(Permission.HISTORY_READ, 'x')).toBe(true);
    });

    it('scope * covers room-less checks', () => {
      const p = resolve([{ roleName: 'manager', scope: '*' }]);
      expect(p.can(Permission.ADMIN_MANAGE)).toBe(true);
    });

    it('only grants the role permissions, whatever the scope', () => {
      const p = resolve([{ roleName: 'reader', scope: '*' }]);
      expect(p.can(Permission.MESSAGE_SEND, 'general')).toBe(false);
      expect(p.can(Permission.ADMIN_MANAGE)).toBe(false);
    });

    it('an exact room scope covers only that room', () => {
      const p = resolve([{ roleName: 'reader', scope: 'general' }]);
      expect(p.can(Permission.ROOM_JOIN, 'general')).toBe(true);
      expect(p.can(Permission.ROOM_JOIN, 'general2')).toBe(false);
      expect(p.can(Permission.ROOM_JOIN, 'genera')).toBe(false);
      expect(p.can(Permission.ROOM_JOIN, 'random')).toBe(false);
    });

    it('an exact room scope does not cover room-less checks', () => {
      const p = resolve([{ roleName: 'reader', scope: 'general' }]);
      expect(p.can(Permission.ROOM_JOIN)).toBe(false);
    });

    it('admin.manage scoped to a room does not grant it tenant-wide', () => {
      const p = resolve([{ roleName: 'admin', scope: 'general' }]);
      expect(p.can(Permission.ADMIN_MANAGE, 'general')).toBe(true);
      expect(p.can(Permission.ADMIN_MANAGE)).toBe(false);
    });

    it('a prefix scope covers rooms starting with the prefix', () => {
      const p = resolve([{ roleName: 'reader', scope: 'support-*' }]);
      expect(p.can(Permission.ROOM_JOIN, 'support-1')).toBe(true);
      expect(p.can(Permission.ROOM_JOIN, 'support-eu.42')).toBe(true);
      expect(p.can(Permission.ROOM_JOIN, 'support-')).toBe(true);
    });

    it('a prefix scope does not cover rooms without the whole prefix', () => {
      const p = resolve([{ roleName: 'reader', scope: 'support-*' }]);
      expect(p.can(Permission.ROOM_JOIN, 'support')).toBe(false);
      expect(p.can(Permission.ROOM_JOIN, 'supportx')).toBe(false);
      expect(p.can(Permission.ROOM_JOIN, 'xsupport-1')).toBe(false);
      expect(p.can(Permission.ROOM_JOIN, 'general')).toBe(false);
    });

    it('a prefix scope does not cover room-less checks', () => {
      const p = resolve([{ roleName: 'admin', scope: 'support-*' }]);
      expect(p.can(Permission.ADMIN_MANAGE)).toBe(false);
    });
  });

  describe('roles', () => {
    it('admin, assigned everywhere, grants every permission, and only the ones it lists', () => {
      const p = resolve([{ roleName: 'admin', scope: '*' }]);
      for (const permission of Object.values(Permission)) {
        expect(p.can(permission, 'general')).toBe(true);
        expect(p.can(permission)).toBe(true);
      }
      expect(p.can('some.future.permission', 'general')).toBe(false);
    });

    it("admin's permissions are limited by the assignment scope", () => {
      const p = resolve([{ roleName: 'admin', scope: 'ops' }]);
      expect(p.can(Permission.MESSAGE_DELETE_ANY, 'ops')).toBe(true);
      expect(p.can(Permission.MESSAGE_DELETE_ANY, 'general')).toBe(false);
    });

    it('a role without permissions grants nothing', () => {
      const p = resolve([{ roleName: 'empty', scope: '*' }]);
      expect(p.can(Permission.ROOM_JOIN, 'general')).toBe(false);
    });

    it('an assignment to an unknown role grants nothing', () => {
      const p = resolve([{ roleName: 'ghost', scope: '*' }]);
      expect(p.grants).toHaveLength(0);
      expect(p.can(Permission.ROOM_JOIN, 'general')).toBe(false);
    });

    it('several grants combine', () => {
      const p = resolve([
        { roleName: 'reader', scope: '*' },
        { roleName: 'moderator', scope: 'support-*' },
        { roleName: 'member', scope: 'general' },
      ]);
      expect(p.can(Permission.ROOM_JOIN, 'anything')).toBe(true);
      expect(p.can(Permission.MESSAGE_DELETE_ANY, 'support-3')).toBe(true);
      expect(p.can(Permission.MESSAGE_DELETE_ANY, 'general')).toBe(false);
      expect(p.can(Permission.MESSAGE_SEND, 'general')).toBe(true);
      expect(p.can(Permission.MESSAGE_SEND, 'support-3')).toBe(false);
      expect(p.can(Permission.ADMIN_MANAGE)).toBe(false);
    });

    it('an unknown role among others does not hide the known ones', () => {
      const p = resolve([
        { roleName: 'ghost', scope: '*' },
        { roleName: 'moderator', scope: '*' },
      ]);
      expect(p.can(Permission.MESSAGE_DELETE_ANY, 'general')).toBe(true);
      expect(p.can(Permission.ROOM_JOIN, 'general')).toBe(false);
    });
  });

  describe('default role', () => {
    it('applies everywhere to a user without any assignment', () => {
      const p = resolve([]);
      expect(p.can(Permission.MESSAGE_SEND, 'general')).toBe(true);
      expect(p.can(Permission.ROOM_JOIN, 'support-1')).toBe(true);
      expect(p.can(Permission.MESSAGE_DELETE_ANY, 'general')).toBe(false);
      expect(p.can(Permission.ADMIN_MANAGE)).toBe(false);
    });

    it('is the configured one', () => {
      const p = resolve([], { defaultRole: 'moderator' });
      expect(p.can(Permission.MESSAGE_DELETE_ANY, 'general')).toBe(true);
      expect(p.can(Permission.MESSAGE_SEND, 'general')).toBe(false);
    });

    it('grants nothing when the default role does not exist', () => {
      const p = resolve([], { defaultRole: 'ghost' });
      expect(p.can(Permission.ROOM_JOIN, 'general')).toBe(false);
    });

    it('does not apply to a user with an assignment', () => {
      const p = resolve([{ roleName: 'moderator', scope: '*' }]);
      expect(p.can(Permission.MESSAGE_SEND, 'general')).toBe(false);
      expect(p.can(Permission.ROOM_JOIN, 'general')).toBe(false);
    });

    it('does not apply to a user assigned only in another room', () => {
      const p = resolve([{ roleName: 'reader', scope: 'general' }]);
      expect(p.can(Permission.ROOM_JOIN, 'random')).toBe(false);
      expect(p.can(Permission.MESSAGE_SEND, 'general')).toBe(false);
    });

    it('does not apply to a user whose only role no longer exists', () => {
      const p = resolve([{ roleName: 'ghost', scope: '*' }]);
      expect(p.can(Permission.ROOM_JOIN, 'general')).toBe(false);
      expect(p.can(Permission.MESSAGE_SEND, 'general')).toBe(false);
    });
  });

  describe('bootstrap admins', () => {
    it('hold every permission in every room and tenant-wide without roles', () => {
      const p = resolve([], { isBootstrapAdmin: true, rolePermissions: new Map() });
      for (const permission of Object.values(Permission)) {
        expect(p.can(permission, 'general')).toBe(true);
        expect(p.can(permission, 'support-1')).toBe(true);
        expect(p.can(permission)).toBe(true);
      }
    });

    it('keep everything when the admin role was stripped', () => {
      const stripped = new Map<string, readonly string[]>([
        ['admin', []],
        ['member', []],
      ]);
      const p = resolve([{ roleName: 'admin', scope: '*' }], { isBootstrapAdmin: true, rolePermissions: stripped });
      expect(p.can(Permission.ADMIN_MANAGE)).toBe(true);
      expect(p.can(Permission.MESSAGE_DELETE_ANY, 'general')).toBe(true);
    });

    it('keep everything when assigned a narrow role in one room', () => {
      const p = resolve([{ roleName: 'reader', scope: 'general' }], { isBootstrapAdmin: true });
      expect(p.can(Permission.ADMIN_MANAGE)).toBe(true);
      expect(p.can(Permission.MESSAGE_SEND, 'random')).toBe(true);
    });

    it('are not limited by a missing default role', () => {
      const p = resolve([], { isBootstrapAdmin: true, defaultRole: 'ghost' });
      expect(p.can(Permission.ADMIN_MANAGE)).toBe(true);
    });
  });

  describe('sharing between users', () => {
    it('gives users with only the default role one answer per role table, and a new one once the table changes', () => {
      const first = resolve([]);
      expect(resolve([])).toBe(first);
      expect(resolve([], { defaultRole: 'reader' })).not.toBe(first);
      const changed = new Map(ROLES).set('member', [Permission.ROOM_JOIN]);
      const after = resolve([], { rolePermissions: changed });
      expect(after).not.toBe(first);
      expect(after.can(Permission.MESSAGE_SEND, 'general')).toBe(false);
      expect(first.can(Permission.MESSAGE_SEND, 'general')).toBe(true);
    });

    it('shares the permission set of a role between users with different scopes', () => {
      const one = resolve([{ roleName: 'member', scope: 'team-a' }]);
      const other = resolve([{ roleName: 'member', scope: 'team-b' }]);
      expect(other).not.toBe(one);
      expect(other.grants[0]!.permissions).toBe(one.grants[0]!.permissions);
      expect(one.can(Permission.MESSAGE_SEND, 'team-a')).toBe(true);
      expect(one.can(Permission.MESSAGE_SEND, 'team-b')).toBe(false);
    });
  });
});

describe('EffectivePermissions.can', () => {
  it('is false without grants', () => {
    const p = new EffectivePermissions([]);
    expect(p.can(Permission.ROOM_JOIN, 'general')).toBe(false);
    expect(p.can(Permission.ROOM_JOIN)).toBe(false);
  });

  it('needs both the permission and the scope in the same grant', () => {
    const p = new EffectivePermissions([
      { scope: 'a', permissions: new Set([Permission.ROOM_JOIN]) },
      { scope: 'b', permissions: new Set([Permission.MESSAGE_SEND]) },
    ]);
    expect(p.can(Permission.ROOM_JOIN, 'a')).toBe(true);
    expect(p.can(Permission.MESSAGE_SEND, 'b')).toBe(true);
    expect(p.can(Permission.ROOM_JOIN, 'b')).toBe(false);
    expect(p.can(Permission.MESSAGE_SEND, 'a')).toBe(false);
  });

  it('treats null permissions as every permission', () => {
    const p = new EffectivePermissions([{ scope: 'a', permissions: null }]);
    expect(p.can('anything.at.all', 'a')).toBe(true);
    expect(p.can('anything.at.all', 'b')).toBe(false);
  });
});

describe('isValidScope', () => {
  it('accepts *', () => {
    expect(isValidScope('*')).toBe(true);
  });

  it('accepts room names', () => {
    expect(isValidScope('general')).toBe(true);
    expect(isValidScope('team.eu:support-1_x')).toBe(true);
    expect(isValidScope('a')).toBe(true);
  });

  it('accepts a prefix with a trailing *', () => {
    expect(isValidScope('support-*')).toBe(true);
    expect(isValidScope('a*')).toBe(true);
  });

  it('rejects a * inside the name', () => {
    expect(isValidScope('a*b')).toBe(false);
    expect(isValidScope('*a')).toBe(false);
  });

  it('rejects **', () => {
    expect(isValidScope('**')).toBe(false);
    expect(isValidScope('a**')).toBe(false);
  });

  it('rejects the empty string', () => {
    expect(isValidScope('')).toBe(false);
  });

  it('rejects spaces and other characters', () => {
    expect(isValidScope('gen eral')).toBe(false);
    expect(isValidScope(' general')).toBe(false);
    expect(isValidScope('general ')).toBe(false);
    expect(isValidScope('room/1')).toBe(false);
    expect(isValidScope('räum')).toBe(false);
  });

  it('accepts names of up to 128 characters', () => {
    expect(isValidScope('a'.repeat(128))).toBe(true);
    expect(isValidScope(`${'a'.repeat(128)}*`)).toBe(true);
  });

  it('rejects names of 129 characters or more', () => {
    expect(isValidScope('a'.repeat(129))).toBe(false);
    expect(isValidScope('a'.repeat(500))).toBe(false);
    expect(isValidScope(`${'a'.repeat(129)}*`)).toBe(false);
  });
});
