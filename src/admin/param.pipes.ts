import { Injectable, type PipeTransform } from '@nestjs/common';
import { RealtimeError } from '../protocol/error-codes.js';
import { assertRoomName } from '../protocol/validators.js';

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

/** `:userId` route parameters: a user id as tokens carry it in `sub`. */
@Injectable()
export class UserIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (value.length === 0 || value.length > 255) {
      throw RealtimeError.badRequest('userId must be 1 to 255 characters', [
        { field: 'userId', constraint: 'length', message: 'userId must be 1 to 255 characters' },
      ]);
    }
    return value;
  }
}
