import { Injectable, Logger } from '@nestjs/common';
import { Broker, type ControlMessage, type RoomEvent } from './broker.js';

/** The single-node broker: a synchronous call to this process's handlers. */
@Injectable()
export class LocalBroker extends Broker {
  private readonly logger = new Logger('RealtimeBroker');
  private readonly roomEventHandlers: Array<(event: RoomEvent) => void> = [];
  private readonly controlHandlers: Array<(message: ControlMessage) => void> = [];

  publishRoomEvent(event: RoomEvent): void {
    for (const handler of this.roomEventHandlers) handler(event);
  }

  onRoomEvent(handler: (event: RoomEvent) => void): void {
    this.roomEventHandlers.push(handler);
  }

  async publishControl(message: ControlMessage): Promise<void> {
    for (const handler of this.controlHandlers) {
      try {
        handler(message);
      } catch (error) {
        this.logger.error(`applying ${message.type}: ${(error as Error).message}`, (error as Error).stack);
      }
    }
  }

  onControl(handler: (message: ControlMessage) => void): void {
    this.controlHandlers.push(handler);
  }
}
