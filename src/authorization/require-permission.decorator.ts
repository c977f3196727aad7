import { SetMetadata } from '@nestjs/common';
import type { Permission } from './permissions.js';

export const REQUIRED_PERMISSIONS = 'realtime:required-permissions';

/**
 * The permission a handler needs, checked on every frame against the room the
 * frame names (`data.room`), on `/rooms/:room` routes in that room, and on
 * other REST routes tenant-wide. With several, any one of them will do; the
 * service then decides between "own" and "any".
 */
export const RequirePermission = (...permissions: Permission[]) => SetMetadata(REQUIRED_PERMISSIONS, permissions);
