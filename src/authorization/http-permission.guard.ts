import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuthenticatedRequest } from '../auth/bearer-auth.guard.js';
import { RealtimeError } from '../protocol/error-codes.js';
import { assertRoomName } from '../protocol/validators.js';
import { AuthorizationService } from './authorization.service.js';
import { REQUIRED_PERMISSIONS } from './require-permission.decorator.js';

type GuardedRequest = AuthenticatedRequest & { params?: Record<string, string | undefined> };

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
    const request = context.switchToHttp().getRequest<GuardedRequest>();
    const room = this.roomOf(request);
    if (!permissions?.length) return true;
    if (!request.user) throw RealtimeError.unauthorized('an access token is required');
    await this.authorization.assertAny(request.user, permissions, room);
    return true;
  }

  /** Where the permission must be held; undefined: everywhere in the tenant. */
  protected roomOf(_request: GuardedRequest): string | undefined {
    return undefined;
  }
}

/**
 * Routes about one room (`/rooms/:room/...`): the permission in that room, as
 * the socket's guard checks it per frame. A malformed name is refused first.
 */
@Injectable()
export class RoomPermissionGuard extends HttpPermissionGuard {
  protected override roomOf(request: GuardedRequest): string {
    const room = request.params?.room;
    assertRoomName(room);
    return room;
  }
}
