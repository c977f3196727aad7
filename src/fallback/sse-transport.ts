import type { ServerResponse } from 'node:http';
import type { Connection } from '../delivery/connection.js';
import type { Transport } from '../delivery/transport.js';

/** How long a closed stream may take to hand its last bytes to a client before it is cut (as long as a WebSocket's closing handshake). */
const CLOSE_GRACE_MS = 30_000;

/** The SSE event of the stream's end (*extension*): the WebSocket close code and reason it stands for. */
export const CLOSE_EVENT = 'close';

const HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  // Proxies that buffer responses (nginx) would hold the events back.
  'X-Accel-Buffering': 'no',
};

/**
 * A Connection's frames as Server-Sent Events on one HTTP response: `event:`
 * the frame's event, `id:` the `seq` for frames at a message's place, `data:`
 * the frame's data. Nothing is written until `start()`, so that a refused
 * stream can still be answered with an HTTP error status. Heartbeats are
 * comments; one that reached the network counts as the peer's pong.
 */
export class SseTransport implements Transport {
  private state: 'pending' | 'open' | 'closed' = 'pending';
  private finished = false;
  private graceTimer: NodeJS.Timeout | undefined;
  private connection: Connection | undefined;
  private readonly closeListeners: Array<() => void> = [];

  constructor(private readonly response: ServerResponse) {
    response.once('close', () => this.finish());
  }

  /** Sends the headers; false when the stream was closed before it started (its request is then still to be answered). */
  start(): boolean {
    if (this.state === 'closed') return false;
    if (this.state === 'open') return true;
    this.state = 'open';
    this.response.writeHead(200, HEADERS);
    this.response.write(': stream of room events; ids are message seqs\n\n');
    return true;
  }

  get isOpen(): boolean {
    return this.state !== 'closed' && !this.response.destroyed;
  }

  get bufferedAmount(): number {
    return this.response.writableLength;
  }

  send(frame: string, seq?: number): void {
    // A frame before start() can only announce the stream's end (room.removed): it starts the stream.
    if (!this.start() || this.response.destroyed) return;
    this.response.write(toSseEvent(frame, seq));
  }

  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    if (this.state === 'pending') {
      this.state = 'closed';
      // The request handler answers the request (its join fails); only the connection goes.
      process.nextTick(() => this.finish());
      return;
    }
    this.state = 'closed';
    this.response.end(event(CLOSE_EVENT, undefined, JSON.stringify({ code, reason })));
    this.graceTimer = setTimeout(() => this.response.destroy(), CLOSE_GRACE_MS).unref();
  }

  terminate(): void {
    this.state = 'closed';
    this.response.destroy();
  }

  ping(): void {
    if (this.state === 'pending') return this.connection?.pongReceived();
    this.response.write(': heartbeat\n\n', (error) => {
      if (!error) this.connection?.pongReceived();
    });
  }

  attach(connection: Connection): void {
    this.connection = connection;
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.state = 'closed';
    clearTimeout(this.graceTimer);
    for (const listener of this.closeListeners) listener();
  }
}

function event(name: string, id: number | undefined, data: string): string {
  return `event: ${name}\n${id !== undefined ? `id: ${id}\n` : ''}data: ${data}\n\n`;
}

/** The same push reaches every stream of a room in turn: it is converted once. */
let lastFrame: string | undefined;
let lastConversion: { event: string; data: string } | undefined;

/** A frame (`{"event", "data"}`) as an SSE event; serialised JSON holds no line breaks, so `data:` is one line. */
export function toSseEvent(frame: string, seq?: number): string {
  if (frame !== lastFrame || !lastConversion) {
    const parsed = JSON.parse(frame) as { event: string; data: unknown };
    lastConversion = { event: parsed.event, data: JSON.stringify(parsed.data ?? {}) };
    lastFrame = frame;
  }
  return event(lastConversion.event, seq, lastConversion.data);
}
