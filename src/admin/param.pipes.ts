import { Injectable, type PipeTransform } from '@nestjs/common';
import { RealtimeError } from '../protocol/error-codes.js';
import { assertRoomName, USER_ID_PATTERN, USER_ID_RULE } from '../protocol/validators.js';
import { SYSTEM_SENDER } from '../protocol/wire.js';

/** `:room` route parameters: refused like a bad room field, before any lookup. */
@Injectable()
export class RoomNamePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    assertRoomName(value);
    return value;
  }
}

/** `:seq` route parameters: a positive integer written in decimal. */
@Injectable()
export class SeqPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    const seq = /^[1-9][0-9]{0,15}$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(seq)) {
      throw RealtimeError.badRequest('seq must be a positive integer', [
        { field: 'seq', constraint: 'isInt', message: 'seq must be a positive integer' },
      ]);
    }
    return seq;
  }
}

/** `:userId` route parameters: a user id a token could carry in `sub` (the reserved `system` is none). */
@Injectable()
export class UserIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!USER_ID_PATTERN.test(value)) {
      const message = `userId must be ${USER_ID_RULE}`;
      throw RealtimeError.badRequest(message, [{ field: 'userId', constraint: 'userId', message }]);
    }
    if (value === SYSTEM_SENDER.id) {
      const message = `the user id ${SYSTEM_SENDER.id} is reserved for server-side publishes`;
      throw RealtimeError.badRequest(message, [{ field: 'userId', constraint: 'reserved', message }]);
    }
    return value;
  }
}
