import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthorizationService } from '../authorization/authorization.service.js';
import { REQUIRED_PERMISSIONS } from '../authorization/require-permission.decorator.js';
import { RealtimeError } from '../protocol/error-codes.js';
import { isRoomName } from '../protocol/validators.js';
import { ALLOW_UNAUTHENTICATED, FRAME_DATA_ARG, frameContextOf } from './gateway.decorators.js';

/**
 * Per frame: the socket must be authenticated, and hold the handler's
 * `@RequirePermission` in the room the frame names, per the cached effective
 * permissions (no query per frame).
 */
@Injectable()
export class WsPermissionGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authorization: AuthorizationService,
  ) {}

  /** Each handler's metadata, read once (this runs for every frame). */
  private readonly rules = new WeakMap<Function, { allowUnauthenticated: boolean; permissions: string[] }>();

  /** A plain boolean when the permissions are cached: no promise per frame. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const { connection } = frameContextOf(context);
    const { allowUnauthenticated, permissions } = this.rulesOf(context.getHandler());
    if (!connection.user) {
      if (allowUnauthenticated) return true;
      throw RealtimeError.unauthorized('authenticate first with an auth frame');
    }
    if (permissions.length === 0) return true;
    const room = (context.getArgByIndex<{ room?: unknown } | undefined>(FRAME_DATA_ARG))?.room;
    // Every guarded event's DTO requires a valid room: a frame without one is
    // refused by validation right after this guard, before the handler runs.
    if (!isRoomName(room)) return true;
    const checking = this.authorization.assertAny(connection.user, permissions, room);
    return checking ? checking.then(() => true) : true;
  }

  private rulesOf(handler: Function): { allowUnauthenticated: boolean; permissions: string[] } {
    let rules = this.rules.get(handler);
    if (!rules) {
      rules = {
        allowUnauthenticated: this.reflector.get<boolean>(ALLOW_UNAUTHENTICATED, handler) ?? false,
        permissions: this.reflector.get<string[] | undefined>(REQUIRED_PERMISSIONS, handler) ?? [],
      };
      this.rules.set(handler, rules);
    }
    return rules;
  }
}
