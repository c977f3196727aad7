import { Injectable, Logger } from '@nestjs/common';
import { Broker, type ControlMessage, type RoomEvent } from './broker.js';

/** The single-node broker: a synchronous call to this process's handlers. */
@Injectable()
export class LocalBroker extends Broker {
  private readonly logger = new Logger('RealtimeBroker');

  publishRoomEvent(event: RoomEvent): void {
    this.dispatchRoomEvent(event);
  }

  async publishControl(message: ControlMessage): Promise<void> {
    const failure = this.dispatchControl(message);
    if (failure) this.logger.error(`applying ${message.type}: ${failure.message}`, failure.stack);
  }

  async watchRoom(): Promise<void> {}

  unwatchRoom(): void {}

  async inTouch(): Promise<boolean> {
    return true;
  }
}
