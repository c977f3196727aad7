import { randomUUID } from 'node:crypto';
import { Body, Controller, Delete, Get, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { GracefulShutdown } from '../gateway/graceful-shutdown.service.js';
import { PublishMessageDto } from '../messages/dto/message.dto.js';
import { MessagesService } from '../messages/messages.service.js';
import { RealtimeError } from '../protocol/error-codes.js';
import { RoomsService } from '../rooms/rooms.service.js';
import { AdminApi } from './admin-api.decorator.js';
import { CreateRoomDto, ListRoomsQueryDto, UpdateRoomDto } from './dto/admin.dto.js';
import { RoomNamePipe, SeqPipe } from './param.pipes.js';

@Controller('admin/rooms')
@AdminApi('rooms')
export class RoomsController {
  constructor(
    private readonly rooms: RoomsService,
    private readonly messages: MessagesService,
    private readonly shutdown: GracefulShutdown,
  ) {}

  @Get()
  @ApiOperation({ summary: "The caller's tenant's rooms, by name, in pages" })
  list(@CurrentUser() user: AuthenticatedUser, @Query() query: ListRoomsQueryDto) {
    return this.rooms.list(user.tenantId, {
      limit: query.limit ?? 100,
      after: query.after,
      includeArchived: query.includeArchived === 'true',
    });
  }

  @Post()
  @ApiOperation({ summary: 'Create a room ahead of its first join or message (409 if it exists)' })
  create(@CurrentUser() user: AuthenticatedUser, @Body() body: CreateRoomDto) {
    return this.rooms.create(user, body.name, body.title ?? null);
  }

  @Get(':room')
  get(@CurrentUser() user: AuthenticatedUser, @Param('room', RoomNamePipe) room: string) {
    return this.rooms.view(user.tenantId, room);
  }

  @Patch(':room')
  @ApiOperation({ summary: 'Change the title, or archive (archived: true) or restore a room' })
  update(@CurrentUser() user: AuthenticatedUser, @Param('room', RoomNamePipe) room: string, @Body() body: UpdateRoomDto) {
    return this.rooms.update(user, room, body);
  }

  @Delete(':room')
  @ApiOperation({ summary: 'Archive a room: joins and sends answer NOT_FOUND, members are removed; history stays' })
  archive(@CurrentUser() user: AuthenticatedUser, @Param('room', RoomNamePipe) room: string) {
    return this.rooms.update(user, room, { archived: true });
  }

  @Post(':room/messages')
  @ApiOperation({ summary: 'Publish as the system sender (201; 200 with duplicate: true for a resend)' })
  async publish(
    @CurrentUser() user: AuthenticatedUser,
    @Param('room', RoomNamePipe) room: string,
    @Body() body: PublishMessageDto,
    @Res({ passthrough: true }) response: { status(code: number): void },
  ) {
    // As a send on the fallback route: nothing stored on a node that is stopping, so the script resends elsewhere.
    if (this.shutdown.draining) throw RealtimeError.unavailable('the server is restarting; send to another node');
    const ack = await this.messages.publishAsAdmin(user, room, body, body.clientMsgId ?? randomUUID());
    response.status(ack.duplicate ? 200 : 201);
    return ack;
  }

  @Delete(':room/messages/:seq')
  @ApiOperation({ summary: 'Moderation: delete any message; its seq stays taken' })
  deleteMessage(@CurrentUser() user: AuthenticatedUser, @Param('room', RoomNamePipe) room: string, @Param('seq', SeqPipe) seq: number) {
    return this.messages.moderate(user, room, seq);
  }
}
