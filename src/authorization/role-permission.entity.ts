import { Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'switchboard_role_permissions' })
export class RolePermissionEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'varchar', length: 255 })
  tenantId!: string;

  @PrimaryColumn({ name: 'role_name', type: 'varchar', length: 64 })
  roleName!: string;

  /** A permission key of the catalogue, or `*` for all of them. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  permission!: string;
}
