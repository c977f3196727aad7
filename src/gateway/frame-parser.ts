import { isUtf8 } from 'node:buffer';
import { type ErrorDetail } from '../protocol/error-codes.js';
import { REQUEST_ID_MAX_LENGTH } from '../protocol/limits.js';
import { isPlainObject } from '../protocol/validators.js';

export interface ParsedFrame {
  event: string;
  id: string | undefined;
  data: Record<string, unknown>;
}

export interface RefusedFrame {
  /** The request's id, when it could be read. */
  id: string | undefined;
  event: string | undefined;
  message: string;
  details?: ErrorDetail[];
}

const MAX_EVENT_NAME = 64;

/** At most REQUEST_ID_MAX_LENGTH code points, as the contract counts lengths (an emoji is one, not two). */
function isRequestIdLength(id: string): boolean {
  if (id.length <= REQUEST_ID_MAX_LENGTH) return true;
  if (id.length > 2 * REQUEST_ID_MAX_LENGTH) return false;
  let count = 0;
  for (const _ of id) count++;
  return count <= REQUEST_ID_MAX_LENGTH;
}

/** One client frame to a request, or to the reason it is not one (answered BAD_REQUEST). */
export function parseFrame(raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): ParsedFrame | RefusedFrame {
  if (isBinary) return { id: undefined, event: undefined, message: 'binary frames are not supported: send a JSON object as text' };
  const bytes = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
  // The socket does not check UTF-8 itself (that would close it): a bad frame gets an answer instead.
  if (!isUtf8(bytes)) return { id: undefined, event: undefined, message: 'the frame is not valid UTF-8' };
  const text = bytes.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { id: undefined, event: undefined, message: 'the frame is not valid JSON' };
  }
  if (!isPlainObject(value)) return { id: undefined, event: undefined, message: 'the frame must be a JSON object' };

  const { id, event, data } = value;
  if (id !== undefined && (typeof id !== 'string' || !isRequestIdLength(id))) {
    return {
      id: undefined,
      event: typeof event === 'string' ? event.slice(0, MAX_EVENT_NAME) : undefined,
      message: `id must be a string of at most ${REQUEST_ID_MAX_LENGTH} characters`,
      details: [{ field: 'id', constraint: 'requestId', message: `id must be a string of at most ${REQUEST_ID_MAX_LENGTH} characters` }],
    };
  }
  if (typeof event !== 'string' || event.length === 0 || event.length > MAX_EVENT_NAME) {
    return {
      id,
      event: undefined,
      message: 'event must name an event',
      details: [{ field: 'event', constraint: 'event', message: `event must be a string of 1 to ${MAX_EVENT_NAME} characters` }],
    };
  }
  if (data !== undefined && !isPlainObject(data)) {
    return {
      id,
      event,
      message: 'data must be a JSON object',
      details: [{ field: 'data', constraint: 'isObject', message: 'data must be a JSON object' }],
    };
  }
  return { event, id, data: data ?? {} };
}

export function isRefused(frame: ParsedFrame | RefusedFrame): frame is RefusedFrame {
  return 'message' in frame;
}
