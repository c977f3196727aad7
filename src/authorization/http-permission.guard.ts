import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuthenticatedRequest } from '../auth/bearer-auth.guard.js';
import { RealtimeError } from '../protocol/error-codes.js';
import { AuthorizationService } from './authorization.service.js';
import { REQUIRED_PERMISSIONS } from './require-permission.decorator.js';

/** Runs after `BearerAuthGuard`; checks `@RequirePermission` tenant-wide (an unscoped grant is needed). */
@Injectable()
export class HttpPermissionGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authorization: AuthorizationService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const permissions = this.reflector.getAllAndOverride<string[] | undefined>(REQUIRED_PERMISSIONS, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!permissions?.length) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (!request.user) throw RealtimeError.unauthorized('an access token is required');
    await this.authorization.assertAny(request.user, permissions);
    return true;
  }
}
