import { Module } from '@nestjs/common';
import { Broker } from '../broker/broker.js';
import { RedisConnections } from '../broker/redis-connections.js';
import { DeliveryModule } from '../delivery/delivery.module.js';
import { RoomsModule } from '../rooms/rooms.module.js';
import { LocalPresenceDirectory, PresenceDirectory } from './presence-directory.js';
import { PresenceService } from './presence.service.js';
import { RedisPresenceDirectory } from './redis-presence-directory.js';

@Module({
  imports: [DeliveryModule, RoomsModule],
  providers: [
    {
      provide: PresenceDirectory,
      inject: [RedisConnections, Broker],
      useFactory: (redis: RedisConnections | null, broker: Broker) =>
        redis ? new RedisPresenceDirectory(redis, broker) : new LocalPresenceDirectory(),
    },
    PresenceService,
  ],
  exports: [PresenceService],
})
export class PresenceModule {}
