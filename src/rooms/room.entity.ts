import { Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { bigintTransformer } from '../database/bigint.transformer.js';

@Entity({ name: 'switchboard_rooms' })
@Unique('uq_switchboard_rooms_tenant_name', ['tenantId', 'name'])
export class RoomEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  /** '' when the tokens carry no `tid`. */
  @Column({ name: 'tenant_id', type: 'varchar', length: 255, default: '' })
  tenantId!: string;

  @Column({ type: 'varchar', length: 128 })
  name!: string;

  @Column({ type: 'varchar', length: 255, nullable: true })
  title!: string | null;

  /** The highest `seq` handed out in this room. */
  @Column({ name: 'last_seq', type: 'bigint', default: 0, transformer: bigintTransformer })
  lastSeq!: number;

  @Column({ name: 'created_at', type: 'bigint', transformer: bigintTransformer })
  createdAt!: number;

  @Column({ name: 'archived_at', type: 'bigint', nullable: true, transformer: bigintTransformer })
  archivedAt!: number | null;
}
