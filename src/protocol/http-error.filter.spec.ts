import { jest } from '@jest/globals';
import { BadRequestException, Logger, NotFoundException, ValidationPipe, type ArgumentsHost } from '@nestjs/common';
import { IsInt, IsString } from 'class-validator';
import { RealtimeError } from './error-codes.js';
import { HttpErrorFilter } from './http-error.filter.js';

/** What the filter answers for an exception: status and JSON body. */
function answer(exception: unknown): { status: number; body: Record<string, unknown> } {
  const sent = { status: 0, body: {} as Record<string, unknown> };
  const response = {
    status(code: number) {
      sent.status = code;
      return { json: (body: Record<string, unknown>) => (sent.body = body) };
    },
  };
  const host = { switchToHttp: () => ({ getResponse: () => response }) } as unknown as ArgumentsHost;
  new HttpErrorFilter().catch(exception, host);
  return sent;
}

class OrderDto {
  @IsString() item!: string;
  @IsInt() quantity!: number;
}

describe('HttpErrorFilter', () => {
  it('answers a RealtimeError in the contract shape', () => {
    expect(answer(RealtimeError.badRequest('room is invalid', [{ field: 'room', constraint: 'isRoomName', message: 'room is invalid' }]))).toEqual({
      status: 400,
      body: { statusCode: 400, code: 'BAD_REQUEST', message: 'room is invalid', details: [{ field: 'room', constraint: 'isRoomName', message: 'room is invalid' }] },
    });
  });

  it("keeps the message of a host route's HttpException", () => {
    expect(answer(new NotFoundException('order 5 does not exist'))).toEqual({
      status: 404,
      body: { statusCode: 404, code: 'NOT_FOUND', message: 'order 5 does not exist' },
    });
  });

  it("keeps what a host's own ValidationPipe found wrong, as a sentence", async () => {
    const error = await new ValidationPipe().transform({ item: 5 }, { type: 'body', metatype: OrderDto }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestException);
    expect(answer(error)).toEqual({
      status: 400,
      body: { statusCode: 400, code: 'BAD_REQUEST', message: 'item must be a string; quantity must be an integer number' },
    });
  });

  it('answers any other error with a bare 500, and logs it', () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    expect(answer(new Error('the password is hunter2'))).toEqual({ status: 500, body: { statusCode: 500, code: 'INTERNAL', message: 'internal error' } });
    expect(logged).toHaveBeenCalledWith('unhandled error: the password is hunter2', expect.any(String));
    logged.mockRestore();
  });
});
