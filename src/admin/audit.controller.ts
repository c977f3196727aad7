import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { AuditService } from '../audit/audit.service.js';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { AdminApi } from './admin-api.decorator.js';
import { AuditQueryDto } from './dto/admin.dto.js';

@Controller('admin/audit')
@AdminApi('audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({ summary: "Who changed what, when, in the caller's tenant, newest first" })
  list(@CurrentUser() user: AuthenticatedUser, @Query() query: AuditQueryDto) {
    return this.audit.list(user.tenantId, {
      limit: query.limit ?? 100,
      before: query.before,
      action: query.action,
      actorId: query.actor,
    });
  }
}
