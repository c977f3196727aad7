import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { bigintTransformer } from '../database/bigint.transformer.js';

@Entity({ name: 'switchboard_audit_log' })
@Index('ix_switchboard_audit_log_tenant', ['tenantId', 'id'])
@Index('ix_switchboard_audit_log_action_at', ['action', 'at'])
export class AuditEntryEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  /** The tenant the change was made in. */
  @Column({ name: 'tenant_id', type: 'varchar', length: 255 })
  tenantId!: string;

  @Column({ name: 'actor_id', type: 'varchar', length: 255 })
  actorId!: string;

  /** The `tid` of the actor's token ('' when none). */
  @Column({ name: 'actor_tenant_id', type: 'varchar', length: 255 })
  actorTenantId!: string;

  @Column({ type: 'varchar', length: 64 })
  action!: string;

  @Column({ type: 'varchar', length: 500 })
  target!: string;

  /** JSON object. */
  @Column({ type: 'text' })
  details!: string;

  @Column({ type: 'bigint', transformer: bigintTransformer })
  at!: number;
}
