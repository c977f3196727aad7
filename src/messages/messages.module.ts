import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module.js';
import { AuthorizationModule } from '../authorization/authorization.module.js';
import { REALTIME_CONNECTION } from '../database/data-source-options.js';
import { RoomsModule } from '../rooms/rooms.module.js';
import { MessageEntity } from './message.entity.js';
import { MessageWriter } from './message-writer.service.js';
import { MessagesService } from './messages.service.js';
import { RealtimePublisher } from './realtime-publisher.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([MessageEntity], REALTIME_CONNECTION), RoomsModule, AuthorizationModule, AuditModule],
  providers: [MessageWriter, MessagesService, RealtimePublisher],
  exports: [MessagesService, RealtimePublisher],
})
export class MessagesModule {}
