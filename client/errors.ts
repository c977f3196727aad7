import type { ErrorCode, ErrorDetail } from '../src/protocol/error-codes.js';
import type { ErrorFrameData } from '../src/protocol/wire.js';

/**
 * Codes the client adds to the contract's: `TIMEOUT` (no reply within the
 * request's timeout; it may still have been processed) and `CLOSED` (the
 * client closed for good before the reply came).
 */
export type ClientErrorCode = 'TIMEOUT' | 'CLOSED';

/** A refused or unanswered request: the contract's error frame, or one of the client's own codes. */
export class SwitchboardError extends Error {
  /** For a failed `send`: the message's `clientMsgId`. After a `TIMEOUT` the message may have been stored: send it again with this id and it is stored once. */
  clientMsgId?: string;

  constructor(
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
    /** The request's event. */
    readonly event?: string,
    /** For `BAD_REQUEST`: each failed field and constraint. */
    readonly details?: ErrorDetail[],
  ) {
    super(message);
    this.name = 'SwitchboardError';
  }

  static fromFrame(data: ErrorFrameData, event: string): SwitchboardError {
    return new SwitchboardError(data.code, data.message, data.event ?? event, data.details);
  }
}
