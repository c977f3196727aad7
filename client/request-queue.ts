import type { ReplyOf, RequestMap, RequestOf } from '../src/protocol/event-map.js';
import type { ErrorFrameData } from '../src/protocol/wire.js';
import { SwitchboardError } from './errors.js';

export type RequestEvent = keyof RequestMap;

interface Pending {
  event: RequestEvent;
  /** Built at each transmission, so a resent `room.join` carries the latest `since`. */
  data: () => object;
  /** The connection it was last sent on; null while it waits to be sent again. */
  sentOn: number | null;
  /** When it times out (ms since the epoch), or Infinity. */
  deadline: number;
  /** `UNAVAILABLE` answers so far. */
  refusals: number;
  /** Sent on one connection only: it fails, rather than being sent again, when that one closes. */
  connectionBound: boolean;
  timer?: ReturnType<typeof setTimeout>;
  retryTimer?: ReturnType<typeof setTimeout>;
  resolve: (data: unknown) => void;
  reject: (error: SwitchboardError) => void;
}

/**
 * Requests waiting for their reply, matched by `id`. A request made while
 * there is no connection waits for one; one whose connection closed before
 * the reply is sent again on the next (every request of the protocol can be
 * repeated safely: `message.send` through its `clientMsgId`), and so is one
 * answered `UNAVAILABLE` (the server did nothing: storage down, or a restart
 * under way), after `retryDelay`. Each request fails with `TIMEOUT` if no
 * reply came within its own timeout, counted from the call, or with
 * `UNAVAILABLE` as soon as another try would not fit in it. A request that
 * ended (timed out) before its frame left is not sent at all.
 */
export class RequestQueue {
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private connection: number | null = null;

  constructor(
    /** `wanted` tells, when the frame's turn comes, whether it should still go out. */
    private readonly send: (frame: string, wanted: () => boolean) => void,
    private readonly maxFrameBytes: number,
    private readonly retryDelay: (refusals: number) => number,
  ) {}

  /** Starts a request; `id` is known at once (a replay that fails later reports it). */
  start<E extends RequestEvent>(
    event: E,
    data: () => RequestOf<E>,
    timeoutMs: number,
    { connectionBound = false }: { connectionBound?: boolean } = {},
  ): { id: string; reply: Promise<ReplyOf<E>> } {
    const id = String(this.nextId++);
    const reply = new Promise<ReplyOf<E>>((resolve, reject) => {
      const timed = timeoutMs > 0 && Number.isFinite(timeoutMs);
      const deadline = timed ? Date.now() + timeoutMs : Number.POSITIVE_INFINITY;
      const request: Pending = { event, data, sentOn: null, deadline, refusals: 0, connectionBound, resolve: resolve as (data: unknown) => void, reject };
      if (timed) {
        request.timer = setTimeout(
          () => this.fail(id, new SwitchboardError('TIMEOUT', `no reply to ${event} within ${timeoutMs} ms`, event)),
          timeoutMs,
        );
      }
      this.pending.set(id, request);
      if (this.connection !== null) this.transmit(id, request, this.connection);
    });
    return { id, reply };
  }

  isPending(id: string | undefined): boolean {
    return id !== undefined && this.pending.has(id);
  }

  /** A connection is ready: everything not yet sent on it goes out, oldest first. */
  connected(connection: number): void {
    this.connection = connection;
    for (const [id, request] of [...this.pending]) {
      if (request.sentOn !== connection && this.pending.has(id)) this.transmit(id, request, connection);
    }
  }

  disconnected(): void {
    this.connection = null;
    for (const [id, request] of [...this.pending]) {
      if (request.connectionBound) this.fail(id, new SwitchboardError('CLOSED', `the connection closed before the reply to ${request.event}`, request.event));
    }
  }

  /** A frame with an `id`: settles the request it answers; false when none waits for it. */
  settle(frame: { event: string; id: string; data?: unknown }): boolean {
    const request = this.pending.get(frame.id);
    if (!request) return false;
    if (frame.event === 'error') {
      const error = SwitchboardError.fromFrame(frame.data as ErrorFrameData, request.event);
      if (error.code === 'UNAVAILABLE' && this.retryLater(frame.id, request)) return true;
      this.fail(frame.id, error);
      return true;
    }
    this.pending.delete(frame.id);
    clearTimeout(request.timer);
    request.resolve(frame.data);
    return true;
  }

  /** Ends a request that is no longer wanted, wherever it is: not sent (again), and its caller gets `error`. */
  cancel(id: string | undefined, error: SwitchboardError): void {
    if (id !== undefined) this.fail(id, error);
  }

  failAll(error: SwitchboardError): void {
    for (const id of [...this.pending.keys()]) this.fail(id, error);
  }

  private fail(id: string, error: SwitchboardError): void {
    const request = this.pending.get(id);
    if (!request) return;
    this.pending.delete(id);
    clearTimeout(request.timer);
    clearTimeout(request.retryTimer);
    request.reject(error);
  }

  /** Sends a refused request again after a delay (or on the next connection), if its timeout leaves time for it. */
  private retryLater(id: string, request: Pending): boolean {
    const delay = this.retryDelay(++request.refusals);
    if (Date.now() + delay >= request.deadline) return false;
    request.sentOn = null;
    request.retryTimer = setTimeout(() => {
      if (this.connection !== null && this.pending.has(id) && request.sentOn === null) this.transmit(id, request, this.connection);
    }, delay);
    return true;
  }

  private transmit(id: string, request: Pending, connection: number): void {
    clearTimeout(request.retryTimer);
    const frame = JSON.stringify({ event: request.event, id, data: request.data() });
    // The server would close the socket (1009) and the resend after the reconnect would close the next one.
    if (frame.length * 3 > this.maxFrameBytes && new TextEncoder().encode(frame).length > this.maxFrameBytes) {
      this.fail(id, new SwitchboardError('BAD_REQUEST', `the ${request.event} frame is larger than ${this.maxFrameBytes} bytes`, request.event));
      return;
    }
    request.sentOn = connection;
    this.send(frame, () => this.pending.get(id) === request && request.sentOn === connection);
  }
}
