import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { REALTIME_CONNECTION } from '../database/data-source-options.js';
import { AuditEntryEntity } from './audit-entry.entity.js';
import { AuditService } from './audit.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([AuditEntryEntity], REALTIME_CONNECTION)],
  providers: [AuditService],
  exports: [AuditService],
})
export class AuditModule {}
