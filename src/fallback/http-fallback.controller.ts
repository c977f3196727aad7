import type { ServerResponse } from 'node:http';
import { Body, Controller, Get, Headers, Param, Post, Query, Res, UseFilters, UseGuards, UsePipes } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { BearerAuthGuard, TokenFromQueryOrCookie } from '../auth/bearer-auth.guard.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { GracefulShutdown } from '../gateway/graceful-shutdown.service.js';
import { RoomPermissionGuard } from '../authorization/http-permission.guard.js';
import { Permission } from '../authorization/permissions.js';
import { RequirePermission } from '../authorization/require-permission.decorator.js';
import { SendAckDto } from '../messages/dto/message.dto.js';
import { MessagesService } from '../messages/messages.service.js';
import { RealtimeError } from '../protocol/error-codes.js';
import { HttpErrorFilter } from '../protocol/http-error.filter.js';
import { JsonBodyGuard } from '../protocol/json-body.guard.js';
import { realtimeValidationPipe } from '../protocol/validation.pipe.js';
import { FallbackRequestBudgetGuard } from '../request-budgets/request-budgets.js';
import { EventStreamQueryDto, HistoryPageDto, HistoryQueryDto, POLL_DEFAULT_TIMEOUT_SECONDS, PollQueryDto, PostMessageDto } from './dto/fallback.dto.js';
import { EventStreamsService, resumePoint } from './event-streams.service.js';
import { LongPollService } from './long-poll.service.js';

/**
 * The room routes for clients that cannot use WebSockets (docs/protocol.md,
 * "HTTP fallbacks"): the same tokens, permissions per room, `seq`,
 * idempotency and delivery as the socket.
 */
@Controller('rooms/:room')
@ApiTags('http-fallback')
@ApiBearerAuth()
@ApiParam({ name: 'room', description: '1 to 128 characters of letters, digits, "-", "_", "." or ":"' })
@ApiQuery({ name: 'access_token', type: String, required: false, description: 'The token, for clients that cannot set an Authorization header' })
@TokenFromQueryOrCookie()
@UseGuards(BearerAuthGuard, FallbackRequestBudgetGuard, RoomPermissionGuard, JsonBodyGuard)
@UsePipes(realtimeValidationPipe)
@UseFilters(HttpErrorFilter)
export class HttpFallbackController {
  constructor(
    private readonly messages: MessagesService,
    private readonly streams: EventStreamsService,
    private readonly polls: LongPollService,
    private readonly shutdown: GracefulShutdown,
  ) {}

  @Get('messages')
  @RequirePermission(Permission.HISTORY_READ)
  @ApiOperation({ summary: 'A page of history, as history.fetch (ascending by seq; hasMore in the paging direction)' })
  @ApiOkResponse({ type: HistoryPageDto })
  history(@CurrentUser() user: AuthenticatedUser, @Param('room') room: string, @Query() query: HistoryQueryDto) {
    return this.messages.history(user, room, query);
  }

  @Post('messages')
  @RequirePermission(Permission.MESSAGE_SEND)
  @ApiOperation({ summary: 'Send a message, as message.send: answered once stored' })
  @ApiCreatedResponse({ type: SendAckDto, description: 'Stored and delivered' })
  @ApiOkResponse({ type: SendAckDto, description: 'A resend of a clientMsgId already stored: the original seq, duplicate: true' })
  async send(
    @CurrentUser() user: AuthenticatedUser,
    @Param('room') room: string,
    @Body() body: PostMessageDto,
    @Res({ passthrough: true }) response: ServerResponse,
  ) {
    // Like a frame, a stream or a poll: once the shutdown has begun, nothing new is taken (503, nothing stored; resent elsewhere).
    if (this.shutdown.draining) throw RealtimeError.unavailable('the server is restarting; send to another node');
    const ack = await this.messages.send(user, room, { text: body.text, payload: body.payload }, body.clientMsgId);
    response.statusCode = ack.duplicate ? 200 : 201;
    return ack;
  }

  @Get('events')
  @RequirePermission(Permission.ROOM_JOIN)
  @ApiOperation({
    summary: "Server-Sent Events: the room's pushes (event: the push's name, id: the seq of messages, data: its data)",
    description: 'Resumes after the Last-Event-ID header or ?since=: every stored message after it, in order, then live ones.',
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'The last message seq received; sent by EventSource when it reconnects' })
  @ApiOkResponse({ description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } })
  async events(
    @CurrentUser() user: AuthenticatedUser,
    @Param('room') room: string,
    @Query() query: EventStreamQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() response: ServerResponse,
  ): Promise<void> {
    await this.streams.open(user, room, resumePoint(lastEventId, query.since), response);
  }

  @Get('poll')
  @RequirePermission(Permission.ROOM_JOIN)
  @ApiOperation({
    summary: 'Long poll: the messages after `after` at once if there are any, else as soon as one arrives, else an empty page at the timeout',
  })
  @ApiOkResponse({ type: HistoryPageDto })
  poll(
    @CurrentUser() user: AuthenticatedUser,
    @Param('room') room: string,
    @Query() query: PollQueryDto,
    @Res({ passthrough: true }) response: ServerResponse,
  ) {
    // Over already if the client went away while the guards ran (its close has come and gone).
    const requestOver = response.destroyed ? Promise.resolve() : new Promise<void>((resolve) => response.once('close', () => resolve()));
    const timeoutSeconds = query.timeout ?? POLL_DEFAULT_TIMEOUT_SECONDS;
    return this.polls.poll(user, room, { after: query.after, timeoutSeconds, limit: query.limit }, requestOver);
  }
}
