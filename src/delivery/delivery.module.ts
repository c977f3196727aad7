import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { AuthorizationModule } from '../authorization/authorization.module.js';
import { MessagesModule } from '../messages/messages.module.js';
import { RoomsModule } from '../rooms/rooms.module.js';
import { ConnectionRegistry } from './connection-registry.service.js';
import { DeliveryService } from './delivery.service.js';

@Module({
  imports: [RoomsModule, MessagesModule, AuthorizationModule, AuditModule],
  providers: [ConnectionRegistry, DeliveryService],
  exports: [ConnectionRegistry, DeliveryService],
})
export class DeliveryModule {}
