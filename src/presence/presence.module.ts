import { Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module.js';
import { RoomsModule } from '../rooms/rooms.module.js';
import { PresenceService } from './presence.service.js';

@Module({
  imports: [DeliveryModule, RoomsModule],
  providers: [PresenceService],
  exports: [PresenceService],
})
export class PresenceModule {}
