import { Injectable, Logger, Optional } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { RealtimeEventPayloads } from './realtime-events.js';

/** Emits `RealtimeEvents` when the host uses @nestjs/event-emitter; a no-op otherwise. */
@Injectable()
export class HostEvents {
  private readonly logger = new Logger('RealtimeEvents');

  constructor(@Optional() private readonly emitter?: EventEmitter2) {}

  /** Typed by the payloads host code is told it receives, so that the two cannot drift apart. */
  emit<E extends keyof RealtimeEventPayloads>(event: E, payload: RealtimeEventPayloads[E]): void {
    if (!this.emitter) return;
    try {
      this.emitter.emit(event, payload);
    } catch (error) {
      // A throwing listener is the host's bug; it must not fail the message.
      this.logger.error(`a listener of ${event} threw: ${(error as Error).message}`, (error as Error).stack);
    }
  }
}
