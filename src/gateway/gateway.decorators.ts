import { createParamDecorator, SetMetadata, type ExecutionContext, type Type } from '@nestjs/common';
import { MessageBody } from '@nestjs/websockets';
import { realtimeValidationPipe } from '../protocol/validation.pipe.js';
import type { FrameContext } from './frame-context.js';

/** Where Nest puts a frame's `data` among a handler's arguments (`switchToWs().getData()`, without building that view). */
export const FRAME_DATA_ARG = 1;
/** The frame dispatcher passes the FrameContext as the argument after `data`. */
export const FRAME_CONTEXT_ARG = 2;

export function frameContextOf(context: Pick<ExecutionContext, 'getArgByIndex'>): FrameContext {
  return context.getArgByIndex<FrameContext>(FRAME_CONTEXT_ARG);
}

/** The Connection of the socket that sent the frame. */
export const CurrentConnection = createParamDecorator((_: unknown, context: ExecutionContext) => frameContextOf(context).connection);

/** The request being handled (its id, and what to do after replying). */
export const Frame = createParamDecorator((_: unknown, context: ExecutionContext) => frameContextOf(context));

/** The frame's `data`, validated against the parameter's DTO class. */
export const FrameData = () => MessageBody(realtimeValidationPipe);

export const ALLOW_UNAUTHENTICATED = 'realtime:allow-unauthenticated';

/** The one event a socket may send before first-frame authentication. */
export const AllowUnauthenticated = () => SetMetadata(ALLOW_UNAUTHENTICATED, true);

export const REPLY_DATA = 'realtime:reply-data';

/**
 * The class that describes the handler's reply `data` (in the AsyncAPI
 * document); the compiler holds the handler to returning that shape.
 */
export function ReplyData<T>(type: Type<T>) {
  return <Handler extends (...args: any[]) => T | Promise<T>>(target: object, key: string | symbol, descriptor: TypedPropertyDescriptor<Handler>) => {
    SetMetadata(REPLY_DATA, type)(target, key, descriptor);
  };
}
