import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module.js';
import { REALTIME_CONNECTION } from '../database/data-source-options.js';
import { RoomEntity } from './room.entity.js';
import { RoomsService } from './rooms.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([RoomEntity], REALTIME_CONNECTION), AuditModule],
  providers: [RoomsService],
  exports: [RoomsService],
})
export class RoomsModule {}
