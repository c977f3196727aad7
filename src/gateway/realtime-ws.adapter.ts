import type { IncomingMessage } from 'node:http';
import type { INestApplicationContext } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { connectionOf, RealtimeWebSocket } from '../delivery/transport.js';
import type { Connection } from '../delivery/connection.js';
import { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { ClientEvent, CloseCode, replyEventFor } from '../protocol/events.js';
import { FrameBudget, type FramePolicy } from './frame-budget.js';
import { FrameContext } from './frame-context.js';
import { GracefulShutdown } from './graceful-shutdown.service.js';
import { isRefused, parseFrame } from './frame-parser.js';
import { HandshakeService } from './handshake.service.js';
import { toRealtimeError } from './ws-error.filter.js';

type FrameHandler = (data: Record<string, unknown>, frame: FrameContext) => Promise<unknown>;

/** The metrics label of frames that are not a known event. */
const INVALID_EVENT = 'invalid';
const CLIENT_EVENTS: ReadonlySet<string> = new Set(Object.values(ClientEvent));
/** A reply this large (UTF-16 units, about 16 KB) counts as one more frame against the socket's rate limit. */
const REPLY_UNITS_PER_FRAME = 16_384;

/**
 * @nestjs/platform-ws with the contract's edges: the upgrade is authenticated
 * before it becomes a socket (401/403), the path and frame size come from the
 * module's options, and frames are parsed here so that every bad one is
 * answered with BAD_REQUEST and the request id is echoed in every reply.
 *
 * A host sets it up once: `app.useWebSocketAdapter(new RealtimeWsAdapter(app))`.
 * The host's own gateways, each with a `path` of its own, are served as the
 * stock WsAdapter serves them: none of the above applies to them.
 */
export class RealtimeWsAdapter extends WsAdapter {
  private readonly frameLogger = new Logger('RealtimeGateway');
  private shutdown!: GracefulShutdown;
  private metrics!: RealtimeMetrics;
  private framePolicy!: FramePolicy;
  private websocketPath = '';
  private warnedOfPathlessGateway = false;

  constructor(private readonly app: INestApplicationContext) {
    super(app);
  }

  override create(port: number, options: Record<string, unknown> = {}): WebSocketServer {
    const handshake = this.app.get(HandshakeService, { strict: false });
    // The module's gateway names no path (it is the module's option); a host's gateway names its own.
    if (options.path !== undefined) return this.createHostServer(port, options, handshake.options.websocket.path);
    this.shutdown = this.app.get(GracefulShutdown, { strict: false });
    this.metrics = this.app.get(RealtimeMetrics, { strict: false });
    const { websocket } = handshake.options;
    this.framePolicy = { perSecond: websocket.rateLimitPerSecond, burst: websocket.rateLimitBurst, closeAfterMs: websocket.floodCloseAfterMs };
    this.websocketPath = websocket.path;
    // The path is matched by the adapter's upgrade listener, not by ws.
    const { path: _path, ...gatewayOptions } = options;
    const serverOptions = {
      ...gatewayOptions,
      maxPayload: websocket.maxPayloadBytes,
      // Off (as is ws's default): frames are framed once per room and written straight to the socket (delivery/socket-writes.ts).
      perMessageDeflate: false,
      // Invalid UTF-8 is answered with BAD_REQUEST by the frame parser rather than closing the socket (1007).
      skipUTF8Validation: true,
      verifyClient: (
        info: { req: IncomingMessage },
        callback: (accepted: boolean, status?: number, reason?: string, headers?: Record<string, string>) => void,
      ) => {
        handshake.verify(info.req).then(
          (verdict) =>
            verdict.accepted
              ? callback(true)
              : callback(false, verdict.status, verdict.reason, { 'Content-Type': 'text/plain; charset=utf-8' }),
          () => callback(false, 500),
        );
      },
    };
    if (port !== 0 || !this.httpServer) return super.create(port, { ...serverOptions, path: websocket.path });
    // On the application's HTTP server, as the stock adapter does, but with the `ws` this module depends on rather
    // than the stock adapter's pinned copy: before 8.23, an idle socket kept the network buffer of its last frame.
    this.ensureHttpServerExists(port, this.httpServer);
    const server = this.bindErrorHandler(new WebSocketServer({ ...serverOptions, noServer: true, WebSocket: RealtimeWebSocket }));
    this.addWsServerToRegistry(server, port, websocket.path);
    return server;
  }

  private createHostServer(port: number, options: Record<string, unknown>, realtimePath: string): WebSocketServer {
    const path = String(options.path);
    // As @nestjs/platform-ws normalises a gateway's path: one leading slash, none trailing, no doubled ones.
    const normalized = (value: string) => `/${value}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
    if (port === 0 && normalized(path) === normalized(realtimePath)) {
      throw new Error(`RealtimeWsAdapter: the gateway path ${path} is the realtime module's (websocket.path); give the gateway another one`);
    }
    return super.create(port, options) as WebSocketServer;
  }

  /**
   * A socket's errors (oversized or invalid UTF-8 frames, resets) are the
   * client's doing and already end that socket: logged at debug, so a client
   * cannot flood the logs. Errors of the server itself stay errors.
   */
  override bindErrorHandler(server: WebSocketServer): WebSocketServer {
    // One listener for every socket rather than a closure each.
    const onSocketError = (error: Error) => this.frameLogger.debug(`socket error: ${error.message}`);
    server.on('connection', (socket: WebSocket) => socket.on('error', onSocketError));
    server.on('error', (error: Error) => this.frameLogger.error(`WebSocket server error: ${error.message}`, error.stack));
    return server;
  }

  /** ws emits `close` once: a plain listener spares each socket the wrapper and bound function of `once`. */
  override bindClientDisconnect(client: WebSocket, callback: (...args: unknown[]) => void): void {
    client.on('close', callback);
  }

  /**
   * Nest binds every handler of the gateway to each new socket (a closure
   * per event per socket, about a kilobyte per idle socket). The realtime
   * gateway's handlers take their connection from the FrameContext, never
   * from that binding, so one table serves all sockets. It holds the
   * handlers bound to the latest socket, replaced at each connection: a
   * binding keeps its socket alive, and the first socket's, kept for good,
   * held that socket and all it refers to long after it closed. The latest
   * socket is kept until the next connection anyway, by Nest (its
   * connection event remembers the last one).
   */
  private readonly protocolHandlers = new Map<string, FrameHandler>();

  override bindMessageHandlers(
    socket: WebSocket,
    handlers: MessageMappingProperties[],
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    if (!isProtocol(handlers)) {
      // A host gateway without a path of its own is given the module's server: both would answer every frame.
      if (socket instanceof RealtimeWebSocket && !this.warnedOfPathlessGateway) {
        this.warnedOfPathlessGateway = true;
        this.frameLogger.error(`a gateway of the app shares the realtime module's path (${this.websocketPath}): give it a path of its own, @WebSocketGateway({ path })`);
      }
      return super.bindMessageHandlers(socket, handlers, transform);
    }
    const byEvent = this.handlerTable(handlers);
    const connection = connectionOf(socket);
    const budget = new FrameBudget(this.framePolicy, Date.now());
    // Control frames count too: a flood of pings is a flood (ws answers each with a pong by itself).
    socket.on('ping', () => {
      if (budget.take(Date.now()) === 'close') connection.close(CloseCode.FLOODING, 'too many frames for too long');
    });
    socket.on('message', (raw: RawData, isBinary: boolean) => {
      // Closing (an admin disconnect, an expired token, a flood): a client that ignores the close frame is not heard.
      if (socket.readyState !== socket.OPEN) return;
      const verdict = budget.take(Date.now());
      if (verdict === 'close') return connection.close(CloseCode.FLOODING, 'too many frames for too long');
      if (verdict === 'refuse') return this.refuse(connection, raw, isBinary, ErrorCode.RATE_LIMITED, 'too many frames; this one was not processed');
      if (this.shutdown.draining) {
        return this.refuse(connection, raw, isBinary, ErrorCode.UNAVAILABLE, 'the server is restarting; this frame was not processed');
      }
      this.shutdown.frameStarted();
      this.dispatch(connection, byEvent, raw, isBinary, budget)
        .catch((error: Error) => this.frameLogger.error(`dispatching a frame: ${error.message}`, error.stack))
        .finally(() => this.shutdown.frameFinished());
    });
  }

  private handlerTable(handlers: MessageMappingProperties[]): Map<string, FrameHandler> {
    for (const handler of handlers) this.protocolHandlers.set(handler.message as string, handler.callback as FrameHandler);
    return this.protocolHandlers;
  }

  /** Answers a frame that is not processed, with its id and event when it has them (so clients can match it). */
  private refuse(connection: Connection, raw: RawData, isBinary: boolean, code: ErrorCode, message: string): void {
    const frame = parseFrame(raw, isBinary);
    this.metrics.frameIn(frame.event !== undefined && CLIENT_EVENTS.has(frame.event) ? frame.event : INVALID_EVENT);
    connection.replyError(frame.event, frame.id, code, message);
  }

  private async dispatch(connection: Connection, handlers: Map<string, FrameHandler>, raw: RawData, isBinary: boolean, budget: FrameBudget) {
    const frame = parseFrame(raw, isBinary);
    const handler = isRefused(frame) ? undefined : handlers.get(frame.event);
    // Unknown event names stay out of the labels: a client must not be able to grow the metrics.
    this.metrics.frameIn(handler ? frame.event! : INVALID_EVENT);
    if (isRefused(frame)) {
      connection.replyError(frame.event, frame.id, ErrorCode.BAD_REQUEST, frame.message, frame.details);
      return;
    }
    if (!handler) {
      connection.replyError(frame.event, frame.id, ErrorCode.BAD_REQUEST, `unknown event ${JSON.stringify(frame.event)}`, [
        { field: 'event', constraint: 'knownEvent', message: `${frame.event} is not an event of the protocol` },
      ]);
      return;
    }
    const context = new FrameContext(connection, frame.event, frame.id, ++connection.framesArrived);
    let result: unknown;
    try {
      result = await handler(frame.data, context);
    } catch (error) {
      context.error = toRealtimeError(error);
    }
    if (context.error) {
      const { code, message, details } = context.error;
      connection.replyError(frame.event, frame.id, code, message, details);
      return;
    }
    const replied = connection.reply(replyEventFor(frame.event), frame.id, result);
    // A large answer (a page of large messages) costs what it took to make: a frame per REPLY_UNITS_PER_FRAME.
    if (replied >= REPLY_UNITS_PER_FRAME) budget.charge(Math.floor(replied / REPLY_UNITS_PER_FRAME));
    // Work after the reply (a replay) runs on its own: it is no longer this frame's business.
    context.replied().catch((error: Error) => this.frameLogger.error(`after replying to ${frame.event}: ${error.message}`, error.stack));
  }
}

/** The realtime gateway's handlers, as against those of a host's gateway. */
function isProtocol(handlers: MessageMappingProperties[]): boolean {
  const events = new Set(handlers.map((handler) => handler.message as string));
  return events.size === CLIENT_EVENTS.size && [...CLIENT_EVENTS].every((event) => events.has(event));
}
