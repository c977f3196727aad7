import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn, Unique } from 'typeorm';
import { bigintTransformer } from '../database/bigint.transformer.js';
import { RoomEntity } from '../rooms/room.entity.js';

@Entity({ name: 'switchboard_messages' })
@Unique('uq_switchboard_messages_room_seq', ['roomId', 'seq'])
@Unique('uq_switchboard_messages_room_sender_client_msg', ['roomId', 'senderId', 'clientMsgId'])
export class MessageEntity {
  /** The public `messageId`. */
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'room_id', type: 'integer' })
  roomId!: number;

  /** Never loaded: it declares the migration's foreign key, so that a host's schema tools find nothing to change. */
  @ManyToOne(() => RoomEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'room_id', foreignKeyConstraintName: 'fk_switchboard_messages_room' })
  room?: RoomEntity;

  @Column({ type: 'bigint', transformer: bigintTransformer })
  seq!: number;

  @Column({ name: 'sender_id', type: 'varchar', length: 255 })
  senderId!: string;

  @Column({ name: 'sender_name', type: 'varchar', length: 255 })
  senderName!: string;

  @Column({ name: 'client_msg_id', type: 'varchar', length: 64 })
  clientMsgId!: string;

  @Column({ type: 'text', nullable: true })
  text!: string | null;

  /** The JSON payload, serialised once on the way in. */
  @Column({ type: 'text', nullable: true })
  payload!: string | null;

  @Column({ name: 'sent_at', type: 'bigint', transformer: bigintTransformer })
  sentAt!: number;

  @Column({ name: 'edited_at', type: 'bigint', nullable: true, transformer: bigintTransformer })
  editedAt!: number | null;

  @Column({ name: 'deleted_at', type: 'bigint', nullable: true, transformer: bigintTransformer })
  deletedAt!: number | null;
}
