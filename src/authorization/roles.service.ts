import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, type EntityManager, type Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { REALTIME_CONNECTION } from '../database/data-source-options.js';
import { TransactionRunner } from '../database/transaction-runner.service.js';
import { RealtimeEvents } from '../events/realtime-events.js';
import { HostEvents } from '../events/host-events.service.js';
import { RealtimeError } from '../protocol/error-codes.js';
import { AuthorizationService } from './authorization.service.js';
import { isKnownPermission } from './permissions.js';
import { RoleAssignmentEntity } from './role-assignment.entity.js';
import { RolePermissionEntity } from './role-permission.entity.js';
import { RoleEntity } from './role.entity.js';

export const ADMIN_ROLE = 'admin';
const SHARED_TENANT = '';

export interface RoleView {
  name: string;
  description: string;
  permissions: string[];
  /** Defined for every tenant rather than by this tenant alone. */
  shared: boolean;
}

export interface RoleInput {
  name: string;
  description?: string;
  permissions: string[];
}

export type RoleChanges = Partial<Omit<RoleInput, 'name'>>;

/**
 * Role definitions. A tenant sees the shared roles (tenant '') and its own; a
 * tenant's change to a shared role becomes that tenant's own copy, so tenants
 * never change each other's roles.
 */
@Injectable()
export class RolesService {
  constructor(
    @InjectRepository(RoleEntity, REALTIME_CONNECTION) private readonly roles: Repository<RoleEntity>,
    @InjectRepository(RolePermissionEntity, REALTIME_CONNECTION) private readonly permissions: Repository<RolePermissionEntity>,
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditService,
    private readonly authorization: AuthorizationService,
    private readonly hostEvents: HostEvents,
  ) {}

  async list(tenantId: string): Promise<RoleView[]> {
    const tenants = visibleTenants(tenantId);
    const [roles, permissions] = await Promise.all([
      this.roles.find({ where: { tenantId: In(tenants) }, order: { name: 'ASC' } }),
      this.permissions.find({ where: { tenantId: In(tenants) } }),
    ]);
    const visible = new Map<string, RoleEntity>();
    for (const role of roles) {
      if (!visible.has(role.name) || role.tenantId !== SHARED_TENANT) visible.set(role.name, role);
    }
    return [...visible.values()].map((role) => ({
      name: role.name,
      description: role.description,
      permissions: permissions
        .filter((p) => p.tenantId === role.tenantId && p.roleName === role.name)
        .map((p) => p.permission)
        .sort(),
      shared: role.tenantId === SHARED_TENANT,
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
      const existing = await manager.count(RoleEntity, {
        where: { tenantId: In(visibleTenants(actor.tenantId)), name: input.name },
      });
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
    if (changes.permissions) assertKnownPermissions(changes.permissions);
    const before = await this.get(actor.tenantId, name);
    if (name === ADMIN_ROLE && changes.permissions) {
      throw RealtimeError.conflict('the permissions of the admin role cannot be changed');
    }
    const now = Date.now();
    await this.transactions.run(async (manager) => {
      if (before.shared && actor.tenantId !== SHARED_TENANT) {
        // First change of a shared role in this tenant: the tenant gets its own copy.
        await manager.insert(RoleEntity, {
          tenantId: actor.tenantId,
          name,
          description: changes.description ?? before.description,
          createdAt: now,
          updatedAt: now,
        });
        await this.writePermissions(manager, actor.tenantId, name, changes.permissions ?? before.permissions);
      } else {
        await manager.update(
          RoleEntity,
          { tenantId: actor.tenantId, name },
          { updatedAt: now, ...(changes.description !== undefined ? { description: changes.description } : {}) },
        );
        if (changes.permissions) {
          await manager.delete(RolePermissionEntity, { tenantId: actor.tenantId, roleName: name });
          await this.writePermissions(manager, actor.tenantId, name, changes.permissions);
        }
      }
      await this.audit.record(manager, actor, 'role.update', `role:${name}`, {
        before: { description: before.description, permissions: before.permissions },
        after: {
          description: changes.description ?? before.description,
          permissions: unique(changes.permissions ?? before.permissions).sort(),
        },
      });
    });
    await this.changed(actor, name, 'updated');
    return this.get(actor.tenantId, name);
  }

  async remove(actor: AuthenticatedUser, name: string): Promise<void> {
    if (name === ADMIN_ROLE) throw RealtimeError.conflict('the admin role cannot be deleted');
    const role = await this.get(actor.tenantId, name);
    if (role.shared && actor.tenantId !== SHARED_TENANT) {
      throw RealtimeError.conflict(`role ${name} is shared by every tenant; only an admin without a tenant can delete it`);
    }
    await this.transactions.run(async (manager) => {
      const tenantsStillDefiningIt =
        actor.tenantId === SHARED_TENANT
          ? (await manager.find(RoleEntity, { where: { name }, select: { tenantId: true } }))
              .map((r) => r.tenantId)
              .filter((t) => t !== SHARED_TENANT)
          : [];
      await manager.delete(RolePermissionEntity, { tenantId: actor.tenantId, roleName: name });
      await manager.delete(RoleEntity, { tenantId: actor.tenantId, name });
      // Assignments that pointed at the deleted definition go with it; a tenant
      // deleting its own copy of a shared role falls back to the shared one.
      const orphaned = manager
        .createQueryBuilder()
        .delete()
        .from(RoleAssignmentEntity)
        .where('role_name = :name', { name });
      let revoked = 0;
      if (actor.tenantId === SHARED_TENANT) {
        if (tenantsStillDefiningIt.length > 0) orphaned.andWhere('tenant_id NOT IN (:...keep)', { keep: tenantsStillDefiningIt });
        revoked = (await orphaned.execute()).affected ?? 0;
      } else if (!(await manager.exists(RoleEntity, { where: { tenantId: SHARED_TENANT, name } }))) {
        revoked = (await orphaned.andWhere('tenant_id = :tenantId', { tenantId: actor.tenantId }).execute()).affected ?? 0;
      }
      await this.audit.record(manager, actor, 'role.delete', `role:${name}`, {
        permissions: role.permissions,
        assignmentsRevoked: revoked,
      });
    });
    await this.changed(actor, name, 'deleted');
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

function visibleTenants(tenantId: string): string[] {
  return tenantId === SHARED_TENANT ? [SHARED_TENANT] : [SHARED_TENANT, tenantId];
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
