import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow } from 'class-validator';
import { MessageContentDto } from '../../messages/dto/message.dto.js';
import { CLIENT_MSG_ID_MAX_LENGTH, HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT } from '../../protocol/limits.js';
import { IsText, Optional, QueryInteger } from '../../protocol/validators.js';

const MAX_SEQ = Number.MAX_SAFE_INTEGER;
export const POLL_MIN_TIMEOUT_SECONDS = 1;
export const POLL_MAX_TIMEOUT_SECONDS = 60;
export const POLL_DEFAULT_TIMEOUT_SECONDS = 25;

/**
 * The query of a route that also takes its token there (`access_token`, read
 * and checked by BearerAuthGuard from the raw query, and documented on the
 * controller). Declared so that a host's global ValidationPipe with
 * `forbidNonWhitelisted` lets it through rather than answering 400.
 */
export class TokenQueryDto {
  @Allow()
  access_token?: unknown;
}

/** `GET /rooms/:room/messages`: the query of `history.fetch`. */
export class HistoryQueryDto extends TokenQueryDto {
  @ApiPropertyOptional({ type: 'integer', description: 'The page just below this seq (older messages)', minimum: 1 })
  @Optional()
  @QueryInteger(1, MAX_SEQ)
  before?: number;

  @ApiPropertyOptional({ type: 'integer', description: 'The page just above this seq (newer messages)', minimum: 0 })
  @Optional()
  @QueryInteger(0, MAX_SEQ)
  after?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: HISTORY_MAX_LIMIT, default: HISTORY_DEFAULT_LIMIT })
  @Optional()
  @QueryInteger(1, HISTORY_MAX_LIMIT)
  limit?: number;
}

/** `POST /rooms/:room/messages`: `message.send` without the room, which is in the path. */
export class PostMessageDto extends MessageContentDto {
  @ApiProperty({ description: 'Yours, unique per message; reuse it when you resend', minLength: 1, maxLength: CLIENT_MSG_ID_MAX_LENGTH })
  @IsText(1, CLIENT_MSG_ID_MAX_LENGTH)
  clientMsgId!: string;
}

/** `GET /rooms/:room/events`. */
export class EventStreamQueryDto extends TokenQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    description: 'Replay every stored message after this seq first; a Last-Event-ID header takes precedence',
    minimum: 0,
  })
  @Optional()
  @QueryInteger(0, MAX_SEQ)
  since?: number;
}

/** `GET /rooms/:room/poll`. */
export class PollQueryDto extends TokenQueryDto {
  @ApiProperty({ type: 'integer', description: 'The highest seq you have; 0 for a room you have nothing of', minimum: 0 })
  @QueryInteger(0, MAX_SEQ)
  after!: number;

  @ApiPropertyOptional({
    type: 'integer',
    description: 'Seconds to wait for a message when none is there yet',
    minimum: POLL_MIN_TIMEOUT_SECONDS,
    maximum: POLL_MAX_TIMEOUT_SECONDS,
    default: POLL_DEFAULT_TIMEOUT_SECONDS,
  })
  @Optional()
  @QueryInteger(POLL_MIN_TIMEOUT_SECONDS, POLL_MAX_TIMEOUT_SECONDS)
  timeout?: number;

  @ApiPropertyOptional({ type: 'integer', description: 'At most this many messages per answer', minimum: 1, maximum: HISTORY_MAX_LIMIT, default: HISTORY_DEFAULT_LIMIT })
  @Optional()
  @QueryInteger(1, HISTORY_MAX_LIMIT)
  limit?: number;
}

/** The answer of the history and poll routes, as `history.fetch` replies. */
export class HistoryPageDto {
  @ApiProperty() room!: string;

  @ApiProperty({
    description: 'Ascending by seq: `{room, seq, messageId, clientMsgId, sender: {id, name}, text?, payload?, sentAt, editedAt?}`, or `{room, seq, deleted: true}`',
    type: 'array',
    items: { type: 'object', additionalProperties: true },
  })
  messages!: object[];

  @ApiProperty({ description: 'Whether more exist past the page in the direction of paging' })
  hasMore!: boolean;
}
