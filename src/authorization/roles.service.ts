import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, type EntityManager, type Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { REALTIME_CONNECTION } from '../database/data-source-options.js';
import { rowLock } from '../database/row-lock.js';
import { withStorage } from '../database/storage-failure.js';
import { TransactionRunner } from '../database/transaction-runner.service.js';
import { HostEvents } from '../events/host-events.service.js';
import { RealtimeEvents } from '../events/realtime-events.js';
import { RealtimeError } from '../protocol/error-codes.js';
import { AuthorizationService } from './authorization.service.js';
import { isKnownPermission } from './permissions.js';
import { RoleAssignmentEntity } from './role-assignment.entity.js';
import { RolePermissionEntity } from './role-permission.entity.js';
import { RoleEntity, SHARED_ROLE_TENANT } from './role.entity.js';

export const ADMIN_ROLE = 'admin';

export interface RoleView {
  name: string;
  description: string;
  permissions: string[];
  /** The definition every tenant starts with, not (yet) changed by this tenant. */
  shared: boolean;
}

export interface RoleInput {
  name: string;
  description?: string;
  permissions: string[];
}

/** `name`, if given, must be the role's own: roles are not renamed (assignments name their role). */
export type RoleChanges = Partial<RoleInput>;

/**
 * The role as the tenant sees it (its own definition, else the shared one),
 * read in the caller's transaction, its row locked (`share` for a grant,
 * `update` for a change: see rowLock). A shared definition is locked for
 * share only: one tenant's change must not wait for another's. (Two first
 * changes of one shared role both insert the tenant's copy: the second
 * trips its primary key, and TransactionRunner runs it again.)
 */
export async function lockedRole(manager: EntityManager, tenantId: string, name: string, mode: 'share' | 'update'): Promise<RoleEntity | null> {
  const own = await manager.findOne(RoleEntity, { where: { tenantId, name }, ...rowLock(manager, mode) });
  return own ?? manager.findOne(RoleEntity, { where: { tenantId: SHARED_ROLE_TENANT, name }, ...rowLock(manager, 'share') });
}

/**
 * Role definitions, per tenant. A tenant sees the shared roles and its own;
 * its first change to a shared role makes it a copy of its own, so no tenant
 * (tokens without `tid` included) ever changes another tenant's roles.
 */
@Injectable()
export class RolesService {
  private readonly logger = new Logger('RealtimeRoles');

  constructor(
    @InjectRepository(RoleEntity, REALTIME_CONNECTION) private readonly roles: Repository<RoleEntity>,
    @InjectRepository(RolePermissionEntity, REALTIME_CONNECTION) private readonly permissions: Repository<RolePermissionEntity>,
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditService,
    private readonly authorization: AuthorizationService,
    private readonly hostEvents: HostEvents,
  ) {}

  async list(tenantId: string): Promise<RoleView[]> {
    const tenants = [SHARED_ROLE_TENANT, tenantId];
    const [roles, permissions] = await withStorage(this.logger, () =>
      Promise.all([
        this.roles.find({ where: { tenantId: In(tenants) }, order: { name: 'ASC' } }),
        this.permissions.find({ where: { tenantId: In(tenants) } }),
      ]),
    );
    const visible = new Map<string, RoleEntity>();
    for (const role of roles) {
      if (!visible.has(role.name) || role.tenantId !== SHARED_ROLE_TENANT) visible.set(role.name, role);
    }
    return [...visible.values()].map((role) => ({
      name: role.name,
      description: role.description,
      permissions: permissions
        .filter((p) => p.tenantId === role.tenantId && p.roleName === role.name)
        .map((p) => p.permission)
        .sort(),
      shared: role.tenantId === SHARED_ROLE_TENANT,
    }));
  }

  async get(tenantId: string, name: string): Promise<RoleView> {
    const role = (await this.list(tenantId)).find((r) => r.name === name);
    if (!role) throw RealtimeError.notFound(`role ${name} does not exist`);
    return role;
  }

  async create(actor: AuthenticatedUser, input: RoleInput): Promise<RoleView> {
    assertKnownPermissions(input.permissions);
    const now = Date.now();
    await this.transactions.run(async (manager) => {
      const existing = await manager.count(RoleEntity, { where: { tenantId: In([SHARED_ROLE_TENANT, actor.tenantId]), name: input.name } });
      if (existing > 0) throw RealtimeError.conflict(`role ${input.name} already exists`);
      await manager.insert(RoleEntity, {
        tenantId: actor.tenantId,
        name: input.name,
        description: input.description ?? '',
        createdAt: now,
        updatedAt: now,
      });
      await this.writePermissions(manager, actor.tenantId, input.name, input.permissions);
      await this.audit.record(manager, actor, 'role.create', `role:${input.name}`, {
        description: input.description ?? '',
        permissions: unique(input.permissions),
      });
    });
    await this.changed(actor, input.name, 'created');
    return this.get(actor.tenantId, input.name);
  }

  async update(actor: AuthenticatedUser, name: string, changes: RoleChanges): Promise<RoleView> {
    if (changes.name !== undefined && changes.name !== name) {
      throw RealtimeError.badRequest(`role ${name} cannot be renamed; create the new role, move the assignments, then delete ${name}`, [
        { field: 'name', constraint: 'sameName', message: `name must be ${name}, the role's own name, or left out` },
      ]);
    }
    if (changes.permissions) assertKnownPermissions(changes.permissions);
    if (name === ADMIN_ROLE && changes.permissions) {
      throw RealtimeError.conflict('the permissions of the admin role cannot be changed');
    }
    const now = Date.now();
    const changed = await this.transactions.run(async (manager) => {
      const before = await this.roleIn(manager, actor.tenantId, name);
      const after = {
        description: changes.description ?? before.description,
        permissions: unique(changes.permissions ?? before.permissions).sort(),
      };
      // A change to what it already is (an empty body included): nothing to write or audit, no copy of a shared role.
      if (after.description === before.description && after.permissions.join() === before.permissions.join()) return false;
      if (before.shared) {
        // The tenant's first change to a shared role: the tenant gets its own copy.
        await manager.insert(RoleEntity, { tenantId: actor.tenantId, name, description: after.description, createdAt: now, updatedAt: now });
        await this.writePermissions(manager, actor.tenantId, name, after.permissions);
      } else {
        await manager.update(RoleEntity, { tenantId: actor.tenantId, name }, { updatedAt: now, description: after.description });
        if (changes.permissions) {
          await manager.delete(RolePermissionEntity, { tenantId: actor.tenantId, roleName: name });
          await this.writePermissions(manager, actor.tenantId, name, after.permissions);
        }
      }
      await this.audit.record(manager, actor, 'role.update', `role:${name}`, {
        before: { description: before.description, permissions: before.permissions },
        after,
      });
      return true;
    });
    if (changed) await this.changed(actor, name, 'updated');
    return this.get(actor.tenantId, name);
  }

  /**
   * Deletes the tenant's definition of a role. Where a shared role of that
   * name exists the tenant falls back to it and keeps its assignments;
   * otherwise the tenant's assignments of the role go too.
   */
  async remove(actor: AuthenticatedUser, name: string): Promise<void> {
    if (name === ADMIN_ROLE) throw RealtimeError.conflict('the admin role cannot be deleted');
    await this.transactions.run(async (manager) => {
      const role = await this.roleIn(manager, actor.tenantId, name);
      if (role.shared) throw RealtimeError.conflict(`role ${name} is one of the shared roles every tenant starts with; it cannot be deleted`);
      // The role's row first, as a change locks it first.
      await manager.delete(RoleEntity, { tenantId: actor.tenantId, name });
      await manager.delete(RolePermissionEntity, { tenantId: actor.tenantId, roleName: name });
      const fallsBack = await manager.exists(RoleEntity, { where: { tenantId: SHARED_ROLE_TENANT, name } });
      const revoked = fallsBack ? 0 : ((await manager.delete(RoleAssignmentEntity, { tenantId: actor.tenantId, roleName: name })).affected ?? 0);
      await this.audit.record(manager, actor, 'role.delete', `role:${name}`, {
        permissions: role.permissions,
        assignmentsRevoked: revoked,
        fallsBackToShared: fallsBack,
      });
    });
    await this.changed(actor, name, 'deleted');
  }

  /** The role's view, locked for a change (lockedRole), or NOT_FOUND. */
  private async roleIn(manager: EntityManager, tenantId: string, name: string): Promise<RoleView> {
    const role = await lockedRole(manager, tenantId, name, 'update');
    if (!role) throw RealtimeError.notFound(`role ${name} does not exist`);
    const permissions = await manager.find(RolePermissionEntity, { where: { tenantId: role.tenantId, roleName: name } });
    return {
      name,
      description: role.description,
      permissions: permissions.map((p) => p.permission).sort(),
      shared: role.tenantId === SHARED_ROLE_TENANT,
    };
  }

  private async writePermissions(manager: EntityManager, tenantId: string, roleName: string, permissions: string[]) {
    const rows = unique(permissions).map((permission) => ({ tenantId, roleName, permission }));
    if (rows.length > 0) await manager.insert(RolePermissionEntity, rows);
  }

  private async changed(actor: AuthenticatedUser, role: string, change: 'created' | 'updated' | 'deleted') {
    await this.authorization.announceChange(actor.tenantId);
    this.hostEvents.emit(RealtimeEvents.ROLE_CHANGED, { tenantId: actor.tenantId, role, change, actorId: actor.id });
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function assertKnownPermissions(permissions: string[]): void {
  const unknown = permissions.filter((p) => !isKnownPermission(p));
  if (unknown.length > 0) {
    throw RealtimeError.badRequest(
      `unknown permission ${unknown.join(', ')}; GET /admin/permissions lists them`,
      unknown.map((p) => ({ field: 'permissions', constraint: 'knownPermission', message: `${p} is not a permission` })),
    );
  }
}
