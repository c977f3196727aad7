import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { REALTIME_CONNECTION } from '../database/data-source-options.js';
import { withStorage } from '../database/storage-failure.js';
import { TransactionRunner } from '../database/transaction-runner.service.js';
import { RealtimeEvents } from '../events/realtime-events.js';
import { HostEvents } from '../events/host-events.service.js';
import { RealtimeError } from '../protocol/error-codes.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';
import { AuthorizationService } from './authorization.service.js';
import { ALL_ROOMS, isValidScope } from './permission-resolution.js';
import { RoleAssignmentEntity } from './role-assignment.entity.js';
import { lockedRole } from './roles.service.js';

export interface AssignmentView {
  role: string;
  scope: string;
  grantedAt: string;
}

export interface UserRolesView {
  userId: string;
  assignments: AssignmentView[];
  /** The role the user holds for lack of any assignment, else null. */
  defaultRole: string | null;
  /** Holds every permission through BOOTSTRAP_ADMINS. */
  bootstrapAdmin: boolean;
}

/** Who holds which role where, per tenant. */
@Injectable()
export class RoleAssignmentsService {
  private readonly logger = new Logger('RealtimeAssignments');

  constructor(
    @InjectRepository(RoleAssignmentEntity, REALTIME_CONNECTION) private readonly assignments: Repository<RoleAssignmentEntity>,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditService,
    private readonly authorization: AuthorizationService,
    private readonly hostEvents: HostEvents,
  ) {}

  async list(tenantId: string, userId: string): Promise<UserRolesView> {
    const rows = await withStorage(this.logger, () =>
      this.assignments.find({ where: { tenantId, userId }, order: { roleName: 'ASC', scope: 'ASC' } }),
    );
    return {
      userId,
      assignments: rows.map((row) => ({ role: row.roleName, scope: row.scope, grantedAt: new Date(row.createdAt).toISOString() })),
      defaultRole: rows.length === 0 ? this.options.authorization.defaultRole : null,
      bootstrapAdmin: this.authorization.isBootstrapAdmin(userId),
    };
  }

  /** Idempotent: answers whether the assignment is new. */
  async grant(actor: AuthenticatedUser, userId: string, role: string, scope = ALL_ROOMS): Promise<{ created: boolean; assignment: AssignmentView }> {
    assertScope(scope);
    const createdAt = Date.now();
    const { created, grantedAt } = await this.transactions.run(async (manager) => {
      // In the transaction, the role's row locked: a role deleted meanwhile leaves no assignment behind.
      if (!(await lockedRole(manager, actor.tenantId, role, 'share'))) throw RealtimeError.notFound(`role ${role} does not exist`);
      const existing = await manager.findOne(RoleAssignmentEntity, { where: { tenantId: actor.tenantId, userId, roleName: role, scope } });
      if (existing) return { created: false, grantedAt: existing.createdAt };
      await manager.insert(RoleAssignmentEntity, { tenantId: actor.tenantId, userId, roleName: role, scope, createdAt });
      await this.audit.record(manager, actor, 'assignment.grant', `user:${userId}`, { role, scope });
      return { created: true, grantedAt: createdAt };
    });
    if (created) await this.changed(actor, userId, role, scope, 'granted');
    return { created, assignment: { role, scope, grantedAt: new Date(grantedAt).toISOString() } };
  }

  /** Without a scope, revokes the role in every scope the user holds it. */
  async revoke(actor: AuthenticatedUser, userId: string, role: string, scope?: string): Promise<{ revoked: AssignmentView[] }> {
    if (scope !== undefined) assertScope(scope);
    const revoked = await this.transactions.run(async (manager) => {
      const rows = await manager.find(RoleAssignmentEntity, {
        where: { tenantId: actor.tenantId, userId, roleName: role, ...(scope !== undefined ? { scope } : {}) },
      });
      if (rows.length === 0) {
        throw RealtimeError.notFound(
          scope === undefined ? `user ${userId} does not hold role ${role}` : `user ${userId} does not hold role ${role} in scope ${scope}`,
        );
      }
      await manager.delete(RoleAssignmentEntity, rows.map((row) => row.id));
      await this.audit.record(manager, actor, 'assignment.revoke', `user:${userId}`, { role, scopes: rows.map((r) => r.scope) });
      return rows;
    });
    await this.changed(actor, userId, role, scope ?? null, 'revoked');
    return { revoked: revoked.map((row) => ({ role, scope: row.scope, grantedAt: new Date(row.createdAt).toISOString() })) };
  }

  private async changed(actor: AuthenticatedUser, userId: string, role: string, scope: string | null, change: 'granted' | 'revoked') {
    await this.authorization.announceChange(actor.tenantId, userId);
    this.hostEvents.emit(RealtimeEvents.ASSIGNMENT_CHANGED, { tenantId: actor.tenantId, userId, role, scope, change, actorId: actor.id });
  }
}

function assertScope(scope: string): void {
  if (!isValidScope(scope)) {
    throw RealtimeError.badRequest('scope must be *, a room name, or a room name prefix ending in *', [
      { field: 'scope', constraint: 'scope', message: 'scope must be *, a room name, or a room name prefix ending in *' },
    ]);
  }
}
