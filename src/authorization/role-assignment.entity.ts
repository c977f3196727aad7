import { Column, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { bigintTransformer } from '../database/bigint.transformer.js';

@Entity({ name: 'switchboard_role_assignments' })
@Unique('uq_switchboard_role_assignments', ['tenantId', 'userId', 'roleName', 'scope'])
@Index('ix_switchboard_role_assignments_user', ['tenantId', 'userId'])
export class RoleAssignmentEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ name: 'tenant_id', type: 'varchar', length: 255 })
  tenantId!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 255 })
  userId!: string;

  @Column({ name: 'role_name', type: 'varchar', length: 64 })
  roleName!: string;

  /** `*` (every room), an exact room name, or a prefix pattern such as `support-*`. */
  @Column({ type: 'varchar', length: 129 })
  scope!: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: bigintTransformer })
  createdAt!: number;
}
