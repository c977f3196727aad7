import type { IncomingMessage } from 'node:http';
import { UseFilters, UseGuards } from '@nestjs/common';
import {
  SubscribeMessage,
  WebSocketGateway,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
} from '@nestjs/websockets';
import type { WebSocket } from 'ws';
import { TokenDto } from '../auth/dto/token.dto.js';
import { Permission } from '../authorization/permissions.js';
import { RequirePermission } from '../authorization/require-permission.decorator.js';
import type { Connection } from '../delivery/connection.js';
import { connectionOf } from '../delivery/transport.js';
import { DeliveryService } from '../delivery/delivery.service.js';
import { DeleteMessageDto, EditMessageDto, FetchHistoryDto, SendMessageDto } from '../messages/dto/message.dto.js';
import { MessagesService } from '../messages/messages.service.js';
import { PresenceService } from '../presence/presence.service.js';
import type { ReplyOf } from '../protocol/event-map.js';
import { ClientEvent } from '../protocol/events.js';
import {
  AuthReply,
  EditAck,
  HistoryPage,
  JoinReply,
  MessageDeletedPush,
  Pong,
  PresenceList,
  RefreshReply,
  RoomReply,
  SendAck,
} from '../protocol/wire.js';
import { JoinRoomDto, RoomDto } from '../rooms/dto/room.dto.js';
import type { FrameContext } from './frame-context.js';
import { AllowUnauthenticated, CurrentConnection, Frame, FrameData, ReplyData } from './gateway.decorators.js';
import { SocketSessionsService } from './socket-sessions.service.js';
import { WsErrorFilter } from './ws-error.filter.js';
import { WsPermissionGuard } from './ws-permission.guard.js';

/**
 * The WebSocket endpoint (path from the module's options, `/ws` by default).
 * Each handler turns one event of the protocol into one service call; the
 * guard checks its permission per frame and room, the filter maps errors.
 */
@WebSocketGateway()
@UseGuards(WsPermissionGuard)
@UseFilters(WsErrorFilter)
export class RealtimeGateway implements OnGatewayConnection, OnGatewayDisconnect {
  constructor(
    private readonly sessions: SocketSessionsService,
    private readonly delivery: DeliveryService,
    private readonly messages: MessagesService,
    private readonly presence: PresenceService,
  ) {}

  handleConnection(socket: WebSocket, request: IncomingMessage): void {
    this.sessions.opened(socket, request);
  }

  /** platform-ws passes the close code where the interface says `reason`. */
  handleDisconnect(socket: WebSocket, code?: unknown): void {
    this.sessions.closed(connectionOf(socket), typeof code === 'number' ? code : undefined);
  }

  @SubscribeMessage(ClientEvent.AUTH)
  @AllowUnauthenticated()
  @ReplyData(AuthReply)
  auth(@CurrentConnection() connection: Connection, @FrameData() { token }: TokenDto): Promise<ReplyOf<'auth'>> {
    return this.sessions.authenticate(connection, token);
  }

  @SubscribeMessage(ClientEvent.AUTH_REFRESH)
  @ReplyData(RefreshReply)
  refresh(
    @CurrentConnection() connection: Connection,
    @FrameData() { token }: TokenDto,
    @Frame() frame: FrameContext,
  ): Promise<ReplyOf<'auth.refresh'>> {
    return this.sessions.refresh(connection, token, frame.arrival);
  }

  @SubscribeMessage(ClientEvent.PING)
  @ReplyData(Pong)
  ping(): ReplyOf<'ping'> {
    return { time: Date.now() };
  }

  @SubscribeMessage(ClientEvent.ROOM_JOIN)
  @RequirePermission(Permission.ROOM_JOIN)
  @ReplyData(JoinReply)
  async join(
    @CurrentConnection() connection: Connection,
    @FrameData() { room, since }: JoinRoomDto,
    @Frame() frame: FrameContext,
  ): Promise<ReplyOf<'room.join'>> {
    const { reply, afterReply } = await this.delivery.join(connection, room, since, frame.id, frame.arrival);
    frame.afterReply(afterReply);
    return reply;
  }

  @SubscribeMessage(ClientEvent.ROOM_LEAVE)
  @ReplyData(RoomReply)
  leave(@CurrentConnection() connection: Connection, @FrameData() { room }: RoomDto, @Frame() frame: FrameContext): ReplyOf<'room.leave'> {
    return this.delivery.leave(connection, room, frame.arrival);
  }

  @SubscribeMessage(ClientEvent.MESSAGE_SEND)
  @RequirePermission(Permission.MESSAGE_SEND)
  @ReplyData(SendAck)
  send(@CurrentConnection() connection: Connection, @FrameData() { room, text, payload, clientMsgId }: SendMessageDto): Promise<ReplyOf<'message.send'>> {
    return this.messages.send(connection.user!, room, { text, payload }, clientMsgId);
  }

  @SubscribeMessage(ClientEvent.MESSAGE_EDIT)
  @RequirePermission(Permission.MESSAGE_EDIT, Permission.MESSAGE_EDIT_ANY)
  @ReplyData(EditAck)
  async edit(@CurrentConnection() connection: Connection, @FrameData() { room, seq, text }: EditMessageDto): Promise<ReplyOf<'message.edit'>> {
    const { editedAt } = await this.messages.edit(connection.user!, room, seq, text);
    return { room, seq, editedAt };
  }

  @SubscribeMessage(ClientEvent.MESSAGE_DELETE)
  @RequirePermission(Permission.MESSAGE_DELETE, Permission.MESSAGE_DELETE_ANY)
  @ReplyData(MessageDeletedPush)
  delete(@CurrentConnection() connection: Connection, @FrameData() { room, seq }: DeleteMessageDto): Promise<ReplyOf<'message.delete'>> {
    return this.messages.delete(connection.user!, room, seq);
  }

  @SubscribeMessage(ClientEvent.HISTORY_FETCH)
  @RequirePermission(Permission.HISTORY_READ)
  @ReplyData(HistoryPage)
  history(@CurrentConnection() connection: Connection, @FrameData() { room, ...page }: FetchHistoryDto): Promise<ReplyOf<'history.fetch'>> {
    return this.messages.history(connection.user!, room, page);
  }

  @SubscribeMessage(ClientEvent.PRESENCE_LIST)
  @RequirePermission(Permission.PRESENCE_READ)
  @ReplyData(PresenceList)
  presenceList(@CurrentConnection() connection: Connection, @FrameData() { room }: RoomDto): Promise<ReplyOf<'presence.list'>> {
    return this.presence.list(connection.user!, room);
  }

  @SubscribeMessage(ClientEvent.TYPING)
  @RequirePermission(Permission.MESSAGE_SEND)
  @ReplyData(RoomReply)
  typing(@CurrentConnection() connection: Connection, @FrameData() { room }: RoomDto): Promise<ReplyOf<'typing'>> {
    return this.presence.typing(connection, room);
  }
}
