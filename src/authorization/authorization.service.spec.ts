import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { FindOperator, type Repository } from 'typeorm';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { LocalBroker } from '../broker/local-broker.js';
import { RealtimeError } from '../protocol/error-codes.js';
import type { ResolvedRealtimeOptions } from '../realtime-options.js';
import { AuthorizationService } from './authorization.service.js';
import { Permission } from './permissions.js';
import type { RoleAssignmentEntity } from './role-assignment.entity.js';
import type { RolePermissionEntity } from './role-permission.entity.js';
import { SHARED_ROLE_TENANT, type RoleEntity } from './role.entity.js';

interface RoleRow {
  tenantId: string;
  name: string;
}
interface PermissionRow {
  tenantId: string;
  roleName: string;
  permission: string;
}
interface AssignmentRow {
  tenantId: string;
  userId: string;
  roleName: string;
  scope: string;
}

/** Applies a `where` of plain equalities and `In(...)`; anything else is a test error. */
function matches(row: object, where: Record<string, unknown>): boolean {
  return Object.entries(where).every(([key, condition]) => {
    const value = (row as Record<string, unknown>)[key];
    if (condition instanceof FindOperator) {
      if (condition.type !== 'in') throw new Error(`fake repository: unsupported operator ${condition.type}`);
      return (condition.value as unknown as unknown[]).includes(value);
    }
    if (condition !== null && typeof condition === 'object') throw new Error(`fake repository: unsupported condition on ${key}`);
    return value === condition;
  });
}

class FakeRepository<T extends object> {
  rows: T[] = [];
  calls = 0;
  failure: Error | null = null;

  async exists(options: { where?: Record<string, unknown> }): Promise<boolean> {
    return (await this.find(options)).length > 0;
  }

  async find(options: { where?: Record<string, unknown> }): Promise<T[]> {
    this.calls++;
    if (this.failure) throw this.failure;
    if (!options.where) throw new Error('fake repository: a where filter was expected');
    return this.rows.filter((row) => matches(row, options.where!)).map((row) => ({ ...row }));
  }
}

const SHARED_ROLES: Array<[string, string[]]> = [
  ['admin', Object.values(Permission)],
  ['member', [Permission.ROOM_JOIN, Permission.MESSAGE_SEND]],
  ['moderator', [Permission.MESSAGE_DELETE_ANY]],
  ['reader', [Permission.ROOM_JOIN, Permission.HISTORY_READ]],
];
/** acme narrows `member`, empties `reader` and has an `auditor` of its own. */
const ACME_ROLES: Array<[string, string[]]> = [
  ['member', [Permission.ROOM_JOIN]],
  ['reader', []],
  ['auditor', [Permission.HISTORY_READ]],
];

function user(tenantId: string, id: string): AuthenticatedUser {
  return { id, name: id, tenantId, expiresAt: 0 };
}

interface Setup {
  service: AuthorizationService;
  roles: FakeRepository<RoleRow>;
  rolePermissions: FakeRepository<PermissionRow>;
  assignments: FakeRepository<AssignmentRow>;
}

function setup(authorization: Partial<ResolvedRealtimeOptions['authorization']> = {}): Setup {
  const roles = new FakeRepository<RoleRow>();
  const rolePermissions = new FakeRepository<PermissionRow>();
  const assignments = new FakeRepository<AssignmentRow>();
  for (const [tenantId, definitions] of [[SHARED_ROLE_TENANT, SHARED_ROLES], ['acme', ACME_ROLES]] as const) {
    for (const [name, permissions] of definitions) {
      roles.rows.push({ tenantId, name });
      for (const permission of permissions) rolePermissions.rows.push({ tenantId, roleName: name, permission });
    }
  }
  const options = {
    authorization: { defaultRole: 'member', bootstrapAdmins: [], permissionCacheSize: 1000, ...authorization },
  } as unknown as ResolvedRealtimeOptions;
  const service = new AuthorizationService(
    roles as unknown as Repository<RoleEntity>,
    rolePermissions as unknown as Repository<RolePermissionEntity>,
    assignments as unknown as Repository<RoleAssignmentEntity>,
    options,
    new LocalBroker(),
  );
  return { service, roles, rolePermissions, assignments };
}

function assign(s: Setup, tenantId: string, userId: string, roleName: string, scope = '*'): void {
  s.assignments.rows.push({ tenantId, userId, roleName, scope });
}

beforeAll(() => {
  // The service logs failed loads; the failures here are on purpose.
  Logger.overrideLogger(false);
});

describe('AuthorizationService', () => {
  describe('role definitions by tenant', () => {
    it("a tenant's own role replaces the shared one for its users", async () => {
      const s = setup();
      const alice = user('acme', 'alice');
      expect(await s.service.can(alice, Permission.ROOM_JOIN, 'general')).toBe(true);
      expect(await s.service.can(alice, Permission.MESSAGE_SEND, 'general')).toBe(false);
    });

    it("a tenant's override does not change the role for other tenants", async () => {
      const s = setup();
      const gina = user('globex', 'gina');
      expect(await s.service.can(gina, Permission.MESSAGE_SEND, 'general')).toBe(true);
    });

    it('users without a tenant see the shared definition', async () => {
      const s = setup();
      const root = user('', 'root');
      expect(await s.service.can(root, Permission.MESSAGE_SEND, 'general')).toBe(true);
    });

    it('an emptied override grants nothing, not the shared permissions', async () => {
      const s = setup();
      assign(s, 'acme', 'alice', 'reader');
      assign(s, 'globex', 'gina', 'reader');
      expect(await s.service.can(user('acme', 'alice'), Permission.HISTORY_READ, 'general')).toBe(false);
      expect(await s.service.can(user('globex', 'gina'), Permission.HISTORY_READ, 'general')).toBe(true);
    });

    it('tenant users still see shared roles they did not override', async () => {
      const s = setup();
      assign(s, 'acme', 'alice', 'moderator');
      expect(await s.service.can(user('acme', 'alice'), Permission.MESSAGE_DELETE_ANY, 'general')).toBe(true);
    });

    it("a tenant's own role is invisible to other tenants", async () => {
      const s = setup();
      assign(s, 'acme', 'alice', 'auditor');
      assign(s, 'globex', 'gina', 'auditor');
      expect(await s.service.can(user('acme', 'alice'), Permission.HISTORY_READ, 'general')).toBe(true);
      expect(await s.service.can(user('globex', 'gina'), Permission.HISTORY_READ, 'general')).toBe(false);
    });

    it('rolesOf lists the visible definitions of a tenant', async () => {
      const s = setup();
      const acme = await s.service.rolesOf('acme');
      expect([...acme.keys()].sort()).toEqual(['admin', 'auditor', 'member', 'moderator', 'reader']);
      expect(acme.get('member')).toEqual([Permission.ROOM_JOIN]);
      expect(acme.get('reader')).toEqual([]);
      const shared = await s.service.rolesOf('');
      expect([...shared.keys()].sort()).toEqual(['admin', 'member', 'moderator', 'reader']);
      expect([...shared.get('member')!].sort()).toEqual([Permission.MESSAGE_SEND, Permission.ROOM_JOIN].sort());
    });

    it('assignments are read in the user tenant only', async () => {
      const s = setup();
      assign(s, 'acme', 'alice', 'moderator');
      expect(await s.service.can(user('acme', 'alice'), Permission.MESSAGE_DELETE_ANY, 'general')).toBe(true);
      expect(await s.service.can(user('globex', 'alice'), Permission.MESSAGE_DELETE_ANY, 'general')).toBe(false);
    });

    it('bootstrap admins hold every permission without an assignment', async () => {
      const s = setup({ bootstrapAdmins: ['root'] });
      expect(s.service.isBootstrapAdmin('root')).toBe(true);
      expect(s.service.isBootstrapAdmin('alice')).toBe(false);
      expect(await s.service.can(user('acme', 'root'), Permission.ADMIN_MANAGE)).toBe(true);
      expect(await s.service.can(user('acme', 'alice'), Permission.ADMIN_MANAGE)).toBe(false);
    });
  });

  describe('cache', () => {
    it('loads a user once for repeated checks', async () => {
      const s = setup();
      const alice = user('acme', 'alice');
      await s.service.can(alice, Permission.ROOM_JOIN, 'general');
      await s.service.can(alice, Permission.MESSAGE_SEND, 'general');
      await s.service.assertAny(alice, [Permission.ROOM_JOIN], 'x');
      expect(s.assignments.calls).toBe(1);
      expect(s.roles.calls).toBe(1);
      expect(s.rolePermissions.calls).toBe(1);
    });

    it('concurrent checks share one load', async () => {
      const s = setup();
      const alice = user('acme', 'alice');
      await Promise.all([s.service.can(alice, Permission.ROOM_JOIN), s.service.can(alice, Permission.ROOM_JOIN)]);
      expect(s.assignments.calls).toBe(1);
    });

    it('loads the roles of a tenant once for all its users', async () => {
      const s = setup();
      await s.service.can(user('acme', 'alice'), Permission.ROOM_JOIN);
      await s.service.can(user('acme', 'bob'), Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(2);
      expect(s.roles.calls).toBe(1);
      expect(s.rolePermissions.calls).toBe(1);
    });

    it('keeps the same user id apart in different tenants', async () => {
      const s = setup();
      await s.service.can(user('acme', 'alice'), Permission.ROOM_JOIN);
      await s.service.can(user('globex', 'alice'), Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(2);
    });

    it('serves cached permissions until a change is announced', async () => {
      const s = setup();
      const alice = user('acme', 'alice');
      expect(await s.service.can(alice, Permission.MESSAGE_DELETE_ANY, 'general')).toBe(false);
      assign(s, 'acme', 'alice', 'moderator');
      expect(await s.service.can(alice, Permission.MESSAGE_DELETE_ANY, 'general')).toBe(false);
      await s.service.announceChange('acme', 'alice');
      expect(await s.service.can(alice, Permission.MESSAGE_DELETE_ANY, 'general')).toBe(true);
    });

    it("announceChange(tenant, user) drops only that user's entry", async () => {
      const s = setup();
      const alice = user('acme', 'alice');
      const bob = user('acme', 'bob');
      const aliceElsewhere = user('globex', 'alice');
      await s.service.can(alice, Permission.ROOM_JOIN);
      await s.service.can(bob, Permission.ROOM_JOIN);
      await s.service.can(aliceElsewhere, Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(3);

      await s.service.announceChange('acme', 'alice');
      await s.service.can(bob, Permission.ROOM_JOIN);
      await s.service.can(aliceElsewhere, Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(3);
      await s.service.can(alice, Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(4);
      // The tenant's roles stay cached.
      expect(s.roles.calls).toBe(2);
      expect(s.rolePermissions.calls).toBe(2);
    });

    it("announceChange(tenant) drops that tenant's users and roles only", async () => {
      const s = setup();
      const alice = user('acme', 'alice');
      const bob = user('acme', 'bob');
      const gina = user('globex', 'gina');
      await s.service.can(alice, Permission.ROOM_JOIN);
      await s.service.can(bob, Permission.ROOM_JOIN);
      await s.service.can(gina, Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(3);
      expect(s.roles.calls).toBe(2);

      await s.service.announceChange('acme');
      await s.service.can(gina, Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(3);
      // A new globex user still finds the globex roles cached.
      await s.service.can(user('globex', 'gus'), Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(4);
      expect(s.roles.calls).toBe(2);

      await s.service.can(alice, Permission.ROOM_JOIN);
      await s.service.can(bob, Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(6);
      expect(s.roles.calls).toBe(3);
      expect(s.rolePermissions.calls).toBe(3);
    });

    it('announceChange(tenant) applies a changed tenant role', async () => {
      const s = setup();
      const alice = user('acme', 'alice');
      expect(await s.service.can(alice, Permission.MESSAGE_SEND, 'general')).toBe(false);
      s.rolePermissions.rows.push({ tenantId: 'acme', roleName: 'member', permission: Permission.MESSAGE_SEND });
      expect(await s.service.can(alice, Permission.MESSAGE_SEND, 'general')).toBe(false);
      await s.service.announceChange('acme');
      expect(await s.service.can(alice, Permission.MESSAGE_SEND, 'general')).toBe(true);
    });

    it('announceChange(tenant) does not drop a tenant whose id starts the same', async () => {
      const s = setup();
      const other = user('acme-eu', 'alice');
      await s.service.can(other, Permission.ROOM_JOIN);
      await s.service.announceChange('acme');
      await s.service.can(other, Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(1);
      expect(s.roles.calls).toBe(1);
    });

    it("tokens without tid are a tenant like any other: announceChange('') drops only theirs", async () => {
      const s = setup();
      const alice = user('acme', 'alice');
      const root = user('', 'root');
      for (const u of [alice, root]) await s.service.can(u, Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(2);
      expect(s.roles.calls).toBe(2);

      await s.service.announceChange('');
      for (const u of [alice, root]) await s.service.can(u, Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(3);
      expect(s.roles.calls).toBe(3);
    });

    it("a role defined by tenant '' is not seen by other tenants", async () => {
      const s = setup();
      s.roles.rows.push({ tenantId: '', name: 'member' });
      s.rolePermissions.rows.push({ tenantId: '', roleName: 'member', permission: Permission.ROOM_JOIN });
      expect(await s.service.can(user('', 'root'), Permission.MESSAGE_SEND, 'general')).toBe(false);
      expect(await s.service.can(user('globex', 'gina'), Permission.MESSAGE_SEND, 'general')).toBe(true);
    });

    it('evicts the oldest entry beyond permissionCacheSize', async () => {
      const s = setup({ permissionCacheSize: 2 });
      const [a, b, c] = ['a', 'b', 'c'].map((id) => user('acme', id));
      await s.service.can(a, Permission.ROOM_JOIN);
      await s.service.can(b, Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(2);
      await s.service.can(c, Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(3);
      await s.service.can(c, Permission.ROOM_JOIN);
      await s.service.can(b, Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(3);
      await s.service.can(a, Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(4);
    });

    it('keeps a recently used entry over an older one', async () => {
      const s = setup({ permissionCacheSize: 2 });
      const [a, b, c] = ['a', 'b', 'c'].map((id) => user('acme', id));
      await s.service.can(a, Permission.ROOM_JOIN);
      await s.service.can(b, Permission.ROOM_JOIN);
      await s.service.can(a, Permission.ROOM_JOIN);
      await s.service.can(c, Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(3);
      await s.service.can(a, Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(3);
      await s.service.can(b, Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(4);
    });

    it('counts a use for that user only, even when users share the same permissions', async () => {
      const s = setup({ permissionCacheSize: 3 });
      const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((id) => user('acme', id));
      for (const u of [a, b, c]) await s.service.can(u, Permission.ROOM_JOIN);
      await s.service.can(b, Permission.ROOM_JOIN);
      await s.service.can(d, Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(4);
      await s.service.can(b, Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(4);
      await s.service.can(a, Permission.ROOM_JOIN);
      expect(s.assignments.calls).toBe(5);
    });
  });

  describe('onPermissionsChanged', () => {
    it('calls every listener with the tenant and user', async () => {
      const s = setup();
      const first: Array<[string, string | undefined]> = [];
      const second: Array<[string, string | undefined]> = [];
      s.service.onPermissionsChanged((tenantId, userId) => first.push([tenantId, userId]));
      s.service.onPermissionsChanged((tenantId, userId) => second.push([tenantId, userId]));
      await s.service.announceChange('acme', 'alice');
      await s.service.announceChange('acme');
      await s.service.announceChange('');
      const expected = [
        ['acme', 'alice'],
        ['acme', undefined],
        ['', undefined],
      ];
      expect(first).toEqual(expected);
      expect(second).toEqual(expected);
    });

    it('calls listeners after the cache entry was dropped', async () => {
      const s = setup();
      const alice = user('acme', 'alice');
      await s.service.can(alice, Permission.MESSAGE_DELETE_ANY, 'general');
      assign(s, 'acme', 'alice', 'moderator');
      let seen: Promise<boolean> | undefined;
      s.service.onPermissionsChanged(() => {
        seen = s.service.can(alice, Permission.MESSAGE_DELETE_ANY, 'general');
      });
      await s.service.announceChange('acme', 'alice');
      expect(seen).toBeDefined();
      expect(await seen).toBe(true);
    });
  });

  describe('failures', () => {
    it('rejects with UNAVAILABLE when assignments cannot be read', async () => {
      const s = setup();
      s.assignments.failure = new Error('database is locked');
      const check = s.service.can(user('acme', 'alice'), Permission.ROOM_JOIN);
      await expect(check).rejects.toBeInstanceOf(RealtimeError);
      await expect(check).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    });

    it('rejects with UNAVAILABLE when roles cannot be read', async () => {
      const s = setup();
      s.roles.failure = new Error('connection reset');
      const check = s.service.can(user('acme', 'alice'), Permission.ROOM_JOIN);
      await expect(check).rejects.toBeInstanceOf(RealtimeError);
      await expect(check).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    });

    it('does not expose the repository error message', async () => {
      const s = setup();
      s.assignments.failure = new Error('password authentication failed for user "switchboard"');
      await expect(s.service.can(user('acme', 'alice'), Permission.ROOM_JOIN)).rejects.not.toMatchObject({
        message: expect.stringContaining('password'),
      });
    });

    it('retries a failed user load on the next call', async () => {
      const s = setup();
      const alice = user('acme', 'alice');
      s.assignments.failure = new Error('database is locked');
      await expect(s.service.can(alice, Permission.ROOM_JOIN, 'general')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      s.assignments.failure = null;
      expect(await s.service.can(alice, Permission.ROOM_JOIN, 'general')).toBe(true);
      expect(s.assignments.calls).toBe(2);
    });

    it('retries a failed roles load on the next call', async () => {
      const s = setup();
      const alice = user('acme', 'alice');
      s.rolePermissions.failure = new Error('connection reset');
      await expect(s.service.can(alice, Permission.ROOM_JOIN, 'general')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      s.rolePermissions.failure = null;
      expect(await s.service.can(alice, Permission.ROOM_JOIN, 'general')).toBe(true);
      expect(s.rolePermissions.calls).toBe(2);
      expect(s.roles.calls).toBe(2);
    });

    it('assertAny rejects with UNAVAILABLE too', async () => {
      const s = setup();
      s.assignments.failure = new Error('database is locked');
      await expect(s.service.assertAny(user('acme', 'alice'), [Permission.ROOM_JOIN])).rejects.toMatchObject({
        code: 'UNAVAILABLE',
      });
    });
  });

  describe('assertAny', () => {
    it('resolves when the user holds the permission', async () => {
      const s = setup();
      await expect(s.service.assertAny(user('globex', 'gina'), [Permission.MESSAGE_SEND], 'general')).resolves.toBeUndefined();
    });

    it('resolves when the user holds any one of the permissions', async () => {
      const s = setup();
      await expect(
        s.service.assertAny(user('globex', 'gina'), [Permission.MESSAGE_DELETE_ANY, Permission.MESSAGE_SEND], 'general'),
      ).resolves.toBeUndefined();
    });

    it('throws FORBIDDEN naming the permission and room', async () => {
      const s = setup();
      const failure = s.service.assertAny(user('acme', 'alice'), [Permission.MESSAGE_SEND], 'general');
      await expect(failure).rejects.toBeInstanceOf(RealtimeError);
      await expect(failure).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(failure).rejects.toThrow(/message\.send/);
      await expect(failure).rejects.toThrow(/room general/);
    });

    it('names every permission when several would do', async () => {
      const s = setup();
      const failure = s.service.assertAny(
        user('acme', 'alice'),
        [Permission.MESSAGE_DELETE, Permission.MESSAGE_DELETE_ANY],
        'general',
      );
      await expect(failure).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(failure).rejects.toThrow('message.delete or message.delete.any');
    });

    it('does not mention a room for room-less checks', async () => {
      const s = setup();
      assign(s, 'acme', 'alice', 'admin', 'general');
      const failure = s.service.assertAny(user('acme', 'alice'), [Permission.ADMIN_MANAGE]);
      await expect(failure).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(failure).rejects.toThrow(/admin\.manage/);
      await expect(failure).rejects.not.toThrow(/room/);
    });

    it('answers at once, without a promise, once the permissions are cached', async () => {
      const s = setup();
      const gina = user('globex', 'gina');
      await s.service.assertAny(gina, [Permission.MESSAGE_SEND], 'general');
      expect(s.service.assertAny(gina, [Permission.MESSAGE_SEND], 'general')).toBeUndefined();
      expect(() => s.service.assertAny(gina, [Permission.ADMIN_MANAGE])).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
      expect(s.assignments.calls).toBe(1);
    });
  });

  describe('the default role at start', () => {
    const spyOnWarnings = () => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    let warn: ReturnType<typeof spyOnWarnings>;
    beforeEach(() => {
      warn = spyOnWarnings();
    });
    afterEach(() => warn.mockRestore());

    it('says so when no tenant defines the default role (a typo in DEFAULT_ROLE)', async () => {
      const s = setup({ defaultRole: 'membr' });
      await s.service.onApplicationBootstrap();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0][0]).toBe('the default role "membr" is defined in no tenant: users without a role of their own have no permissions until it is created');
    });

    it('is quiet when the role is shared or defined by one tenant only', async () => {
      await setup({ defaultRole: 'member' }).service.onApplicationBootstrap();
      await setup({ defaultRole: 'auditor' }).service.onApplicationBootstrap();
      expect(warn).not.toHaveBeenCalled();
    });

    it('is quiet when the database cannot be read yet', async () => {
      const s = setup({ defaultRole: 'membr' });
      s.roles.failure = new Error('connection refused');
      await s.service.onApplicationBootstrap();
      expect(warn).not.toHaveBeenCalled();
    });
  });
});
