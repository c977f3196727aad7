import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Between, IsNull, LessThan, MoreThan, type FindOptionsWhere, type Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { AuthorizationService } from '../authorization/authorization.service.js';
import { Permission } from '../authorization/permissions.js';
import { Broker } from '../broker/broker.js';
import { REALTIME_CONNECTION } from '../database/data-source-options.js';
import { withStorage } from '../database/storage-failure.js';
import { TransactionRunner } from '../database/transaction-runner.service.js';
import { HostEvents } from '../events/host-events.service.js';
import { RealtimeEvents } from '../events/realtime-events.js';
import { RealtimeError } from '../protocol/error-codes.js';
import type { HistoryQuery, MessageContent } from '../protocol/event-map.js';
import { ServerEvent } from '../protocol/events.js';
import { HISTORY_DEFAULT_LIMIT } from '../protocol/limits.js';
import { SYSTEM_SENDER, type HistoryEntry, type HistoryPage, type MessageDeletedPush, type MessageUpdatedPush, type SendAck } from '../protocol/wire.js';
import type { RoomRecord } from '../rooms/rooms.service.js';
import { RoomsService } from '../rooms/rooms.service.js';
import { MessageEntity } from './message.entity.js';
import { toHistoryEntry, toIsoTime, toMessageView } from './message-view.js';
import { MessageWriter, type StoredMessage } from './message-writer.service.js';

@Injectable()
export class MessagesService {
  private readonly logger = new Logger('RealtimeMessages');

  constructor(
    @InjectRepository(MessageEntity, REALTIME_CONNECTION) private readonly messages: Repository<MessageEntity>,
    private readonly writer: MessageWriter,
    private readonly rooms: RoomsService,
    private readonly authorization: AuthorizationService,
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditService,
    private readonly broker: Broker,
    private readonly hostEvents: HostEvents,
  ) {
    writer.onCommitted((stored) => this.announce(stored));
  }

  /** Stores a message and, once stored, delivers it; the ack comes after the commit. */
  async send(user: AuthenticatedUser, room: string, content: MessageContent, clientMsgId: string): Promise<SendAck> {
    const target = await this.rooms.open(user.tenantId, room);
    return this.store(target, { id: user.id, name: user.name }, content, clientMsgId);
  }

  /** A server-side publish, as the system sender; creates the room when missing. */
  async publish(tenantId: string, room: string, content: MessageContent, clientMsgId: string): Promise<SendAck> {
    const target = await this.rooms.open(tenantId, room);
    return this.store(target, SYSTEM_SENDER, content, clientMsgId);
  }

  /** A publish through the admin API: the system sender, and an audit entry naming the admin. */
  async publishAsAdmin(actor: AuthenticatedUser, room: string, content: MessageContent, clientMsgId: string): Promise<SendAck> {
    const target = await this.rooms.open(actor.tenantId, room);
    return this.store(target, SYSTEM_SENDER, content, clientMsgId, actor);
  }

  async edit(user: AuthenticatedUser, room: string, seq: number, text: string): Promise<MessageUpdatedPush> {
    const target = await this.rooms.findActive(user.tenantId, room);
    const message = await this.findMessage(target, seq);
    // Permissions are settled first (someone else's deleted message is FORBIDDEN, as its deletion is), and before the
    // transaction, which then holds no connection waiting for them.
    if (message.senderId !== user.id) await this.authorization.assertAny(user, [Permission.MESSAGE_EDIT_ANY], room);
    const deleted = () => RealtimeError.conflict(`message ${seq} in room ${room} was deleted`);
    if (message.deletedAt !== null) throw deleted();
    const editedAt = Date.now();
    const { affected } = await this.transactions.run((manager) =>
      manager.update(MessageEntity, { id: message.id, deletedAt: IsNull() }, { text, editedAt }),
    );
    if (!affected) throw deleted();
    const update: MessageUpdatedPush = { room, seq, text, editedAt: toIsoTime(editedAt) };
    this.broker.publishRoomEvent({ roomKey: target.key, event: ServerEvent.MESSAGE_UPDATED, data: update, aboutSeq: seq });
    this.hostEvents.emit(RealtimeEvents.MESSAGE_EDITED, { tenantId: user.tenantId, ...update, editedBy: user.id });
    return update;
  }

  /** A user deleting a message: their own with `message.delete`, anyone's with `message.delete.any`. */
  async delete(user: AuthenticatedUser, room: string, seq: number): Promise<MessageDeletedPush> {
    const target = await this.rooms.findActive(user.tenantId, room);
    const message = await this.findMessage(target, seq);
    if (message.senderId !== user.id) await this.authorization.assertAny(user, [Permission.MESSAGE_DELETE_ANY], room);
    return this.remove(target, message, user, false);
  }

  /** Moderation through the admin API: any message, archived rooms included, audited. */
  async moderate(actor: AuthenticatedUser, room: string, seq: number): Promise<MessageDeletedPush> {
    const target = await this.rooms.find(actor.tenantId, room);
    return this.remove(target, await this.findMessage(target, seq), actor, true);
  }

  /** Pages of history, ascending by `seq` inside a page (see docs/protocol.md). */
  async history(user: AuthenticatedUser, room: string, query: HistoryQuery): Promise<HistoryPage> {
    const target = await this.rooms.find(user.tenantId, room);
    const limit = query.limit ?? HISTORY_DEFAULT_LIMIT;
    const { before, after } = query;
    const where: FindOptionsWhere<MessageEntity> = { roomId: target.id };
    if (before !== undefined && after !== undefined) where.seq = Between(after + 1, before - 1);
    else if (before !== undefined) where.seq = LessThan(before);
    else if (after !== undefined) where.seq = MoreThan(after);
    const ascending = after !== undefined;
    const rows = await withStorage(this.logger, () =>
      this.messages.find({ where, order: { seq: ascending ? 'ASC' : 'DESC' }, take: limit + 1 }),
    );
    const page = rows.slice(0, limit);
    if (!ascending) page.reverse();
    return { room, messages: page.map((m) => toHistoryEntry(m, room)), hasMore: rows.length > limit };
  }

  /** Stored messages after `afterSeq`, oldest first: what a resuming member missed. */
  async after(room: RoomRecord, afterSeq: number, limit: number): Promise<HistoryEntry[]> {
    const rows = await withStorage(this.logger, () =>
      this.messages.find({ where: { roomId: room.id, seq: MoreThan(afterSeq) }, order: { seq: 'ASC' }, take: limit }),
    );
    return rows.map((m) => toHistoryEntry(m, room.name));
  }

  private async store(
    room: RoomRecord,
    sender: { id: string; name: string },
    content: MessageContent,
    clientMsgId: string,
    publishedBy?: AuthenticatedUser,
  ): Promise<SendAck> {
    const { message, duplicate } = await this.writer.write({
      room,
      sender,
      clientMsgId,
      text: content.text ?? null,
      payload: content.payload ?? null,
      publishedBy,
    });
    return { room: room.name, seq: message.seq, messageId: message.id, sentAt: toIsoTime(message.sentAt), duplicate };
  }

  /**
   * Delivers stored messages; runs right after each commit, in `seq` order.
   * Resends are delivered again too (members drop a `seq` they have), since
   * the first delivery may have been lost with its ack; host code hears of a
   * message once.
   */
  private announce(stored: StoredMessage[]): void {
    for (const { room, message, payload, announced } of stored) {
      if (message.deletedAt !== null) continue;
      const view = toMessageView(message, room.name, payload ?? undefined);
      this.broker.publishRoomEvent({ roomKey: room.key, event: ServerEvent.MESSAGE, data: view, seq: message.seq });
      if (!announced) this.hostEvents.emit(RealtimeEvents.MESSAGE_CREATED, { tenantId: room.tenantId, message: view });
    }
  }

  private async remove(room: RoomRecord, message: MessageEntity, actor: AuthenticatedUser, audited: boolean): Promise<MessageDeletedPush> {
    const { seq } = message;
    const deleted = await this.transactions.run(async (manager) => {
      // The content goes; the row stays so that `seq` is never reused.
      const { affected } = await manager.update(
        MessageEntity,
        { id: message.id, deletedAt: IsNull() },
        { deletedAt: Date.now(), text: null, payload: null },
      );
      if (affected && audited) {
        await this.audit.record(manager, actor, 'message.delete', `room:${room.name}`, { seq, senderId: message.senderId });
      }
      return Boolean(affected);
    });
    const push: MessageDeletedPush = { room: room.name, seq };
    if (deleted) {
      this.broker.publishRoomEvent({ roomKey: room.key, event: ServerEvent.MESSAGE_DELETED, data: push, aboutSeq: seq });
      this.hostEvents.emit(RealtimeEvents.MESSAGE_DELETED, { tenantId: room.tenantId, room: room.name, seq, deletedBy: actor.id });
    }
    return push;
  }

  private async findMessage(room: RoomRecord, seq: number): Promise<MessageEntity> {
    const message = await withStorage(this.logger, () => this.messages.findOne({ where: { roomId: room.id, seq } }));
    if (!message) throw RealtimeError.notFound(`room ${room.name} has no message ${seq}`);
    return message;
  }
}
