import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintTransformer } from '../database/bigint.transformer.js';

/**
 * The tenant of the role definitions every tenant starts with (the seeded
 * roles). No token can name it, so no admin edits them in place: a tenant's
 * change makes that tenant its own copy.
 */
export const SHARED_ROLE_TENANT = '*';

/**
 * A named set of permissions, defined for one tenant or shared by all; a
 * tenant's own definition of a name takes the shared one's place there.
 */
@Entity({ name: 'switchboard_roles' })
export class RoleEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'varchar', length: 255 })
  tenantId!: string;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  @Column({ type: 'varchar', length: 500, default: '' })
  description!: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: bigintTransformer })
  createdAt!: number;

  @Column({ name: 'updated_at', type: 'bigint', transformer: bigintTransformer })
  updatedAt!: number;
}
