import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsInt, Max, Min, ValidateIf } from 'class-validator';
import { CLIENT_MSG_ID_MAX_LENGTH, HISTORY_MAX_LIMIT, TEXT_MAX_LENGTH } from '../../protocol/limits.js';
import type { DeleteMessageRequest, EditMessageRequest, FetchHistoryRequest, MessageContent, SendMessageRequest } from '../../protocol/event-map.js';
import { HasContent, IsPayload, IsRoomName, IsText, Optional } from '../../protocol/validators.js';

const NEEDS_CONTENT = 'a message has text, payload or both';

/** The content of a message, as the publisher and the admin API take it. */
export class MessageContentDto implements MessageContent {
  @ApiPropertyOptional({ description: `1 to ${TEXT_MAX_LENGTH} characters`, example: 'Hello' })
  @ValidateIf((o: MessageContentDto) => o.text !== undefined || o.payload === undefined || o.payload === null)
  @IsDefined({ message: NEEDS_CONTENT })
  @IsText(1, TEXT_MAX_LENGTH)
  text?: string;

  @ApiPropertyOptional({ description: 'Any JSON object up to 16 KB serialised', type: 'object', additionalProperties: true })
  @Optional()
  @IsPayload()
  payload?: Record<string, unknown>;
}

export class PublishMessageDto extends MessageContentDto {
  @ApiPropertyOptional({ description: 'Makes the publish idempotent; generated when absent', maxLength: CLIENT_MSG_ID_MAX_LENGTH })
  @Optional()
  @IsText(1, CLIENT_MSG_ID_MAX_LENGTH)
  clientMsgId?: string;
}

@HasContent()
export class SendMessageDto extends MessageContentDto implements SendMessageRequest {
  @IsRoomName()
  room!: string;

  @IsText(1, CLIENT_MSG_ID_MAX_LENGTH)
  clientMsgId!: string;
}

const SEQ = { max: Number.MAX_SAFE_INTEGER };

export class EditMessageDto implements EditMessageRequest {
  @IsRoomName()
  room!: string;

  @IsInt()
  @Min(1)
  @Max(SEQ.max)
  seq!: number;

  @IsText(1, TEXT_MAX_LENGTH)
  text!: string;
}

export class DeleteMessageDto implements DeleteMessageRequest {
  @IsRoomName()
  room!: string;

  @IsInt()
  @Min(1)
  @Max(SEQ.max)
  seq!: number;
}

export class FetchHistoryDto implements FetchHistoryRequest {
  @IsRoomName()
  room!: string;

  @Optional()
  @IsInt()
  @Min(1)
  @Max(SEQ.max)
  before?: number;

  @Optional()
  @IsInt()
  @Min(0)
  @Max(SEQ.max)
  after?: number;

  @Optional()
  @IsInt()
  @Min(1)
  @Max(HISTORY_MAX_LIMIT)
  limit?: number;
}

export class SendAckDto {
  @ApiProperty() room!: string;
  @ApiProperty() seq!: number;
  @ApiProperty() messageId!: string;
  @ApiProperty({ format: 'date-time' }) sentAt!: string;
  @ApiProperty() duplicate!: boolean;
}
