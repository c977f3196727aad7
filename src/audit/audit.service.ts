import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, type EntityManager, type Repository } from 'typeorm';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { REALTIME_CONNECTION } from '../database/data-source-options.js';
import { withStorage } from '../database/storage-failure.js';
import { TransactionRunner } from '../database/transaction-runner.service.js';
import { AuditEntryEntity } from './audit-entry.entity.js';

export interface AuditEntryView {
  id: number;
  actor: { id: string; tid: string | null };
  action: string;
  target: string;
  details: Record<string, unknown>;
  at: string;
}

export interface AuditPage {
  entries: AuditEntryView[];
  hasMore: boolean;
}

export interface AuditQuery {
  limit: number;
  before?: number;
  action?: string;
  actorId?: string;
}

/** Who changed what, when: written in the same transaction as the change itself. */
@Injectable()
export class AuditService {
  private readonly logger = new Logger('RealtimeAudit');

  constructor(
    @InjectRepository(AuditEntryEntity, REALTIME_CONNECTION) private readonly entries: Repository<AuditEntryEntity>,
    private readonly transactions: TransactionRunner,
  ) {}

  /** An entry for an action that changes nothing in the database (a disconnect). */
  async recordAlone(actor: AuthenticatedUser, action: string, target: string, details: Record<string, unknown> = {}) {
    await this.transactions.run((manager) => this.record(manager, actor, action, target, details));
  }

  async record(
    manager: EntityManager,
    actor: AuthenticatedUser,
    action: string,
    target: string,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    await manager.insert(AuditEntryEntity, {
      tenantId: actor.tenantId,
      actorId: actor.id,
      actorTenantId: actor.tenantId,
      action,
      target,
      details: JSON.stringify(details),
      at: Date.now(),
    });
  }

  /** The latest time each target was the object of `action` at or after `since` (ms since the epoch), in every tenant. */
  async latestByTarget(action: string, since: number): Promise<Array<{ tenantId: string; target: string; at: number }>> {
    const rows: Array<{ tenantId: string; target: string; at: number | string }> = await withStorage(this.logger, () =>
      this.entries
        .createQueryBuilder('entry')
        .select('entry.tenantId', 'tenantId')
        .addSelect('entry.target', 'target')
        .addSelect('MAX(entry.at)', 'at')
        .where('entry.action = :action AND entry.at >= :since', { action, since })
        .groupBy('entry.tenantId')
        .addGroupBy('entry.target')
        .getRawMany(),
    );
    // PostgreSQL returns bigint columns as strings.
    return rows.map(({ tenantId, target, at }) => ({ tenantId, target, at: Number(at) }));
  }

  /** Newest first, within the caller's tenant. */
  async list(tenantId: string, query: AuditQuery): Promise<AuditPage> {
    const rows = await withStorage(this.logger, () => this.entries.find({
      where: {
        tenantId,
        ...(query.before !== undefined ? { id: LessThan(query.before) } : {}),
        ...(query.action ? { action: query.action } : {}),
        ...(query.actorId ? { actorId: query.actorId } : {}),
      },
      order: { id: 'DESC' },
      take: query.limit + 1,
    }));
    return {
      entries: rows.slice(0, query.limit).map((row) => ({
        id: row.id,
        actor: { id: row.actorId, tid: row.actorTenantId === '' ? null : row.actorTenantId },
        action: row.action,
        target: row.target,
        details: JSON.parse(row.details) as Record<string, unknown>,
        at: new Date(row.at).toISOString(),
      })),
      hasMore: rows.length > query.limit,
    };
  }
}
