import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { realtimeValidationPipe } from '../protocol/validation.pipe.js';
import { assertRoomName } from '../protocol/validators.js';
import type { SendAck } from '../protocol/wire.js';
import { PublishMessageDto } from './dto/message.dto.js';
import { MessagesService } from './messages.service.js';

export interface PublishOptions {
  /** The tenant of the room; rooms without a tenant when absent. */
  tid?: string;
}

/**
 * Host code publishing into a room, e.g. a service pushing live quotes:
 * `publisher.publish('prices', { payload: { symbol, bid } })`. Stored and
 * delivered like any message, as the system sender; the same checks as a
 * client's message apply and failures throw a RealtimeError.
 */
@Injectable()
export class RealtimePublisher {
  constructor(private readonly messages: MessagesService) {}

  async publish(
    room: string,
    content: { text?: string; payload?: Record<string, unknown>; clientMsgId?: string },
    options: PublishOptions = {},
  ): Promise<SendAck> {
    assertRoomName(room);
    const valid = (await realtimeValidationPipe.transform(content, { type: 'body', metatype: PublishMessageDto })) as PublishMessageDto;
    return this.messages.publish(options.tid ?? '', room, valid, valid.clientMsgId ?? randomUUID());
  }
}
