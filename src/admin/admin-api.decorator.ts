import { applyDecorators, UseFilters, UseGuards, UsePipes } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { BearerAuthGuard } from '../auth/bearer-auth.guard.js';
import { HttpPermissionGuard } from '../authorization/http-permission.guard.js';
import { Permission } from '../authorization/permissions.js';
import { RequirePermission } from '../authorization/require-permission.decorator.js';
import { HttpErrorFilter } from '../protocol/http-error.filter.js';
import { JsonBodyGuard } from '../protocol/json-body.guard.js';
import { realtimeValidationPipe } from '../protocol/validation.pipe.js';
import { AdminRequestBudgetGuard } from '../request-budgets/request-budgets.js';

/**
 * Everything an `/admin` controller needs: a bearer token, the caller's admin
 * request budget (checked before the permission, which may read the
 * database), `admin.manage`, a JSON body if any, validation, contract errors.
 */
export const AdminApi = (tag: string) =>
  applyDecorators(
    ApiTags(tag),
    ApiBearerAuth(),
    UseGuards(BearerAuthGuard, AdminRequestBudgetGuard, HttpPermissionGuard, JsonBodyGuard),
    RequirePermission(Permission.ADMIN_MANAGE),
    UsePipes(realtimeValidationPipe),
    UseFilters(HttpErrorFilter),
  );
