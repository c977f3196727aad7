import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import type { Connection } from './connection.js';
import { flushFrames, unsentBytes, writeFrame, type FrameSink } from './socket-writes.js';

/**
 * Where a Connection's frames go: a WebSocket (the gateway) or an HTTP event
 * stream (src/fallback). Delivery, replays, the slow-consumer limit, the
 * heartbeat and token expiry work the same over either.
 */
export interface Transport {
  /** Whether frames can still be sent. */
  readonly isOpen: boolean;
  /** Data written but not yet taken by the network, in bytes. */
  readonly bufferedAmount: number;
  /** An already serialised frame; `seq` is given for frames that stand at a room message's place (live or replayed). */
  send(frame: string, seq?: number): void;
  close(code: number, reason: string): void;
  /** Ends it at once, without a closing handshake. */
  terminate(): void;
  /** A liveness probe; the attached connection's `pongReceived` hears that it got through. */
  ping(): void;
  /** Called once, by the connection this transport carries. */
  attach(connection: Connection): void;
  onClose(listener: () => void): void;
}

const CONNECTING = 0;
const OPEN = 1;

const CONNECTION = Symbol('realtime.connection');
type ConnectedSocket = WebSocket & { [CONNECTION]?: Connection };

/** Every socket's pong listener: one function, called with the socket as `this`, rather than a closure per socket. */
function pongReceived(this: ConnectedSocket): void {
  this[CONNECTION]?.pongReceived();
}

/** The Connection a socket's transport was attached to. */
export function connectionOf(socket: WebSocket): Connection {
  const connection = (socket as ConnectedSocket)[CONNECTION];
  if (!connection) throw new Error('socket has no realtime connection');
  return connection;
}

/**
 * The class of the server's sockets (RealtimeWsAdapter hands it to ws). ws
 * writes a close frame by itself, in the middle of a read, when it answers
 * a client's close or refuses a frame (over the size limit: 1009; a protocol
 * error: 1002). The socket's frames still waiting for the end of the turn
 * (the BAD_REQUEST of a frame earlier in that read) go out first: after the
 * close frame they could only be dropped.
 */
export class RealtimeWebSocket extends WebSocket {
  /** Set by the socket's WebSocketTransport. */
  frameSink: FrameSink | undefined = undefined;

  override close(code?: number, data?: string | Buffer): void {
    if (this.frameSink) flushFrames(this.frameSink);
    super.close(code, data);
  }
}

export class WebSocketTransport implements Transport, FrameSink {
  /** The TCP socket under the WebSocket, which frames are written to directly (see socket-writes.ts). */
  readonly tcp: Socket;
  waitingFrames: FrameSink['waitingFrames'] = undefined;

  constructor(private readonly socket: WebSocket) {
    // Set before the server emits `connection`.
    this.tcp = (socket as unknown as { _socket: Socket })._socket;
    if (socket instanceof RealtimeWebSocket) socket.frameSink = this;
  }

  get isOpen(): boolean {
    return this.socket.readyState === OPEN;
  }

  get bufferedAmount(): number {
    return unsentBytes(this);
  }

  send(frame: string): void {
    writeFrame(this, frame);
  }

  close(code: number, reason: string): void {
    // What was sent before the close goes before the close frame.
    flushFrames(this);
    if (this.socket.readyState === OPEN || this.socket.readyState === CONNECTING) this.socket.close(code, reason);
  }

  terminate(): void {
    this.socket.terminate();
  }

  ping(): void {
    flushFrames(this);
    this.socket.ping();
  }

  attach(connection: Connection): void {
    (this.socket as ConnectedSocket)[CONNECTION] = connection;
    this.socket.on('pong', pongReceived);
  }

  onClose(listener: () => void): void {
    this.socket.once('close', () => listener());
  }
}
