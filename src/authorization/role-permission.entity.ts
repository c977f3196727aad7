import { Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { RoleEntity } from './role.entity.js';

@Entity({ name: 'switchboard_role_permissions' })
export class RolePermissionEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'varchar', length: 255 })
  tenantId!: string;

  @PrimaryColumn({ name: 'role_name', type: 'varchar', length: 64 })
  roleName!: string;

  /** A permission key of the catalogue, or `*` for all of them. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  permission!: string;

  /** Never loaded: it declares the migration's foreign key, so that a host's schema tools find nothing to change. */
  @ManyToOne(() => RoleEntity, { onDelete: 'CASCADE' })
  @JoinColumn([
    { name: 'tenant_id', referencedColumnName: 'tenantId', foreignKeyConstraintName: 'fk_switchboard_role_permissions_role' },
    { name: 'role_name', referencedColumnName: 'name', foreignKeyConstraintName: 'fk_switchboard_role_permissions_role' },
  ])
  role?: RoleEntity;
}
