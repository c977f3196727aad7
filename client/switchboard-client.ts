import type { MessageContent, PushMap, ReplyOf, RequestOf } from '../src/protocol/event-map.js';
import type { AuthReply, ErrorFrameData, JoinReply, MessageView, RoomRemovedPush } from '../src/protocol/wire.js';
import { Emitter } from './emitter.js';
import { SwitchboardError } from './errors.js';
import { FramePacer } from './frame-pacer.js';
import { JoinedRooms } from './joined-rooms.js';
import { DEFAULT_RECONNECT, reconnectDelay, shouldReconnect, type ReconnectOptions } from './reconnect.js';
import { RequestQueue, type RequestEvent } from './request-queue.js';
import { refreshDelay, tokenExpiry, type TokenSource } from './token.js';
import {
  globalWebSocket,
  handshakeRequest,
  loadWebSocket,
  readRefusedUpgrade,
  upgradeStatus,
  type AuthMode,
  type UpgradeRefusal,
  type WebSocketConstructor,
  type WebSocketLike,
} from './transport.js';

export interface ClientOptions extends TokenSource {
  /** The server's WebSocket URL, e.g. `wss://chat.example.com/ws`. */
  url: string;
  /** How the token reaches the server. Default: `query` where the runtime has a WebSocket of its own (browsers), else `header`. */
  auth?: AuthMode;
  /** With `auth: 'cookie'` outside a browser: the cookie (the server's `WS_AUTH_COOKIE`) to send the token in. */
  cookieName?: string;
  /** Extra upgrade headers (Node only: needs `ws`). */
  headers?: Record<string, string>;
  /** The WebSocket class to use. Default: the runtime's own, else `ws`, loaded when first needed. */
  WebSocket?: WebSocketConstructor;
  /** How long a request may wait for its reply, connection time included, unless the call says otherwise; 0 waits for ever. Default 10 s. */
  requestTimeoutMs?: number;
  /** Backoff between reconnection attempts, or `false` to close for good at the first disconnection. */
  reconnect?: ReconnectOptions | false;
  /** With `getToken`: how long before the token's `exp` to fetch a new one and send it with `auth.refresh`. Default 30 s. */
  refreshBeforeExpiryMs?: number;
  /**
   * With nothing heard from the server for this long, the client sends `ping`;
   * no reply within as long again, and the connection counts as dead (a
   * network that drops everything silently): it reconnects. Default 20 s; 0 turns it off.
   */
  heartbeatIntervalMs?: number;
  /** Frames larger than this are refused before sending (the server's `WS_MAX_PAYLOAD_BYTES`). Default 65536. */
  maxFrameBytes?: number;
  /**
   * The pace of outgoing frames, in bursts of up to twice as many: keep it below
   * the server's `WS_RATE_LIMIT_PER_SECOND` (default 50). Default 40.
   */
  maxFramesPerSecond?: number;
}

export interface RequestOptions {
  /** Overrides `requestTimeoutMs` for this call; 0 waits for ever. */
  timeoutMs?: number;
}

export interface JoinOptions extends RequestOptions {
  /** Replay every stored message after this `seq` first. Without it the client resumes from the last `seq` it saw, if any. */
  since?: number;
}

export interface SendOptions extends RequestOptions {
  /** Makes the send idempotent; generated when absent. Reuse it to retry a send that failed with `TIMEOUT`. */
  clientMsgId?: string;
}

/**
 * `idle` until `connect()`; `connecting` until the first connection opens;
 * `open` while a connection is ready (authenticated); `reconnecting` between
 * a lost connection and the next; `closed` for good (after `close()` or a
 * close the client must not retry).
 */
export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export type StateChange =
  | {
      state: 'connecting' | 'reconnecting';
      /** 0 for the first attempt, then the number of attempts that failed since the last open connection. */
      attempt: number;
      /** How long the client waits before this attempt. */
      delayMs: number;
      /** The close code of the connection that ended, when one did. */
      closeCode?: number;
      reason?: string;
    }
  | { state: 'open'; /** false for the first connection, true after a reconnect. */ resumed: boolean }
  | { state: 'closed'; closeCode?: number; reason: string };

/** What `on` can listen to: the server's pushes, connection state changes, and errors no call can catch. */
export interface ClientEvents extends Omit<PushMap, 'message'> {
  /** A message, live or replayed; one deleted before the app saw it comes as `message.deleted` instead. */
  message: MessageView;
  state: StateChange;
  /** Something no call of the app's can catch failed: a rejoin, a token refresh, `getToken`, a token refused at the handshake or in the first-frame `auth`. */
  error: Error;
}

type PushFrame = { [E in keyof PushMap]: { event: E; id?: undefined; data: PushMap[E] } }[keyof PushMap];
type ReplyFrame = { event: string; id: string; data?: unknown };

/** The id of the first-frame `auth` request; other requests have numeric ids. */
const AUTH_REQUEST_ID = 'auth';
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_REFRESH_BEFORE_EXPIRY_MS = 30_000;
const DEFAULT_MAX_FRAME_BYTES = 65_536;
const DEFAULT_MAX_FRAMES_PER_SECOND = 40;
const DEFAULT_HEARTBEAT_INTERVAL_MS = 20_000;
/** How long `close()` waits for the server's close frame before it lets the socket go. */
const CLOSE_WAIT_MS = 2000;
/** A dropped connection: WebSocket's code for a close without a close frame. */
const ABNORMAL_CLOSURE = 1006;
/** WebSocket `readyState`s at which `close()` still has a close to wait for. */
const CONNECTING = 0;
const OPEN = 1;

/**
 * A Switchboard connection that keeps itself alive: it reconnects with
 * backoff, rejoins its rooms from the last `seq` it saw, passes each message
 * on once and in order, resends what was not acknowledged, and renews its
 * token. See docs/clients.md.
 */
export class SwitchboardClient {
  private readonly events = new Emitter<ClientEvents>();
  private readonly rooms = new JoinedRooms<PushMap['message']>();
  private readonly requests: RequestQueue;
  private readonly pacer: FramePacer;
  /** The latest join request of each room: a replay that fails after the reply names only that id. */
  private readonly joinRequests = new Map<string, string>();
  private readonly rejoinTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly rejoinAttempts = new Map<string, number>();
  private readonly auth: AuthMode;
  private readonly backoff: Required<ReconnectOptions> | null;
  private readonly requestTimeoutMs: number;
  private currentState: ConnectionState = 'idle';
  private socket: WebSocketLike | null = null;
  /** Numbers connection attempts; a callback of an older one finds a different number and does nothing. */
  private connection = 0;
  private ready = false;
  private hasOpened = false;
  /** Attempts that failed since the last open connection. */
  private attempt = 0;
  private tokenExpiresAt: number | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  /** Bounds the opening of a socket (the upgrade, and with `first-frame` the `auth` reply). */
  private openTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  private lastHeardAt = 0;
  private opening: { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } | null = null;

  constructor(private readonly options: ClientOptions) {
    this.auth = options.auth ?? (globalWebSocket() ? 'query' : 'header');
    if (this.auth !== 'cookie' && options.token === undefined && options.getToken === undefined) {
      throw new TypeError(`auth "${this.auth}" needs a token or getToken`);
    }
    this.backoff = options.reconnect === false ? null : { ...DEFAULT_RECONNECT, ...options.reconnect };
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const framesPerSecond = options.maxFramesPerSecond ?? DEFAULT_MAX_FRAMES_PER_SECOND;
    this.pacer = new FramePacer(framesPerSecond, 2 * framesPerSecond, (frame) => this.socket?.send(frame));
    this.requests = new RequestQueue(
      (frame, wanted) => this.pacer.send(frame, wanted),
      options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      (refusals) => reconnectDelay(refusals, this.backoff ?? DEFAULT_RECONNECT),
    );
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** Listens to a push or a client event; returns the function that stops listening. */
  on<E extends keyof ClientEvents>(event: E, listener: (value: ClientEvents[E]) => void): () => void {
    return this.events.on(event, listener);
  }

  /**
   * Connects (again, after a close); resolves when a connection is open. It
   * keeps trying through failures as `reconnect` allows, and rejects with
   * `CLOSED` if the client closes for good first.
   */
  connect(): Promise<void> {
    if (this.currentState === 'open') return Promise.resolve();
    if (this.opening) return this.opening.promise;
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    this.opening = { promise, resolve, reject };
    if (this.currentState === 'idle' || this.currentState === 'closed') {
      this.attempt = 0;
      this.setState({ state: 'connecting', attempt: 0, delayMs: 0 });
      void this.openSocket();
    }
    return promise;
  }

  /** Joins a room: its pushes reach `on(...)` listeners from now on, and after every reconnect. */
  async join(room: string, options: JoinOptions = {}): Promise<JoinReply> {
    if (this.currentState === 'closed') throw closedError('room.join');
    const wanted = this.rooms.has(room);
    this.rooms.want(room, options.since);
    const { id, reply } = this.startJoin(room, options.timeoutMs);
    try {
      return await reply;
    } catch (error) {
      if (this.joinRequests.get(room) !== id) throw error;
      for (const message of this.rooms.joinFailed(room)) this.passOn(message);
      // The server took the socket out of the room while this join ran (CONFLICT: join again): still wanted, it is joined again.
      if (wanted && error instanceof SwitchboardError && error.code === 'CONFLICT') this.rejoinLater(room);
      if (!wanted) {
        this.forgetRoom(room);
        // It may have been joined all the same: the server takes a leave sent after a join as the last word.
        if (error instanceof SwitchboardError && error.code === 'TIMEOUT' && this.ready) void this.request('room.leave', { room }, {}).catch(() => undefined);
      }
      throw error;
    }
  }

  /** Leaves a room: nothing more arrives from it, and reconnects do not rejoin it. */
  leave(room: string, options: RequestOptions = {}): Promise<ReplyOf<'room.leave'>> {
    const join = this.joinRequests.get(room);
    this.forgetRoom(room);
    // A join waiting to be sent (again: after UNAVAILABLE, or on the next connection) would put the socket back in the room.
    this.requests.cancel(join, new SwitchboardError('CONFLICT', `room ${room} was left before the join was answered`, 'room.join'));
    return this.request('room.leave', { room }, options);
  }

  /**
   * Sends a message (a string is its text). The promise resolves with the
   * ack once the message is stored, across reconnects if need be: a send
   * without an ack is sent again with the same `clientMsgId`.
   */
  async send(room: string, content: MessageContent | string, options: SendOptions = {}): Promise<ReplyOf<'message.send'>> {
    const message = typeof content === 'string' ? { text: content } : content;
    const clientMsgId = options.clientMsgId ?? newClientMsgId();
    try {
      return await this.request('message.send', { room, ...message, clientMsgId }, options);
    } catch (error) {
      // A TIMEOUT may still have been stored: sent again with this id, it is stored once.
      if (error instanceof SwitchboardError) error.clientMsgId = clientMsgId;
      throw error;
    }
  }

  edit(room: string, seq: number, text: string, options: RequestOptions = {}): Promise<ReplyOf<'message.edit'>> {
    return this.request('message.edit', { room, seq, text }, options);
  }

  delete(room: string, seq: number, options: RequestOptions = {}): Promise<ReplyOf<'message.delete'>> {
    return this.request('message.delete', { room, seq }, options);
  }

  /** A page of history, ascending by `seq`: the newest without `before`/`after` (see docs/protocol.md). */
  history(room: string, query: Omit<RequestOf<'history.fetch'>, 'room'> = {}, options: RequestOptions = {}): Promise<ReplyOf<'history.fetch'>> {
    return this.request('history.fetch', { room, ...query }, options);
  }

  presence(room: string, options: RequestOptions = {}): Promise<ReplyOf<'presence.list'>> {
    return this.request('presence.list', { room }, options);
  }

  /** Tells the room's other members that this user is typing. */
  typing(room: string, options: RequestOptions = {}): Promise<ReplyOf<'typing'>> {
    return this.request('typing', { room }, options);
  }

  ping(options: RequestOptions = {}): Promise<ReplyOf<'ping'>> {
    return this.request('ping', {}, options);
  }

  /** Closes for good (`connect()` starts again); requests still waiting fail with `CLOSED`. */
  async close(): Promise<void> {
    const socket = this.socket;
    this.finish(1000, 'closed by the client');
    if (socket && (socket.readyState === CONNECTING || socket.readyState === OPEN)) {
      await new Promise<void>((resolve) => {
        // A server out of reach never answers the close: let the socket go after a while.
        const giveUp = setTimeout(() => {
          release(socket);
          resolve();
        }, CLOSE_WAIT_MS);
        socket.onclose = () => {
          clearTimeout(giveUp);
          resolve();
        };
        socket.close(1000);
      });
    }
  }

  private request<E extends RequestEvent>(event: E, data: RequestOf<E>, options: RequestOptions): Promise<ReplyOf<E>> {
    if (this.currentState === 'closed') return Promise.reject(closedError(event));
    return this.requests.start(event, () => data, options.timeoutMs ?? this.requestTimeoutMs).reply;
  }

  /** A join that carries, at each transmission, the last `seq` seen in the room. */
  private startJoin(room: string, timeoutMs = this.requestTimeoutMs): { id: string; reply: Promise<JoinReply> } {
    const { id, reply } = this.requests.start(
      'room.join',
      () => {
        const since = this.rooms.since(room);
        return since === undefined ? { room } : { room, since };
      },
      timeoutMs,
    );
    this.joinRequests.set(room, id);
    return {
      id,
      reply: reply.then((joined) => {
        this.rejoinAttempts.delete(room);
        return joined;
      }),
    };
  }

  /** Rejoins after a reconnect or a failed replay; a room the user may no longer join is dropped. */
  private rejoin(room: string): void {
    clearTimeout(this.rejoinTimers.get(room));
    this.rejoinTimers.delete(room);
    this.startJoin(room).reply.catch((error: Error) => {
      if (!this.rooms.has(room) || (error instanceof SwitchboardError && error.code === 'CLOSED')) return;
      if (error instanceof SwitchboardError && (error.code === 'FORBIDDEN' || error.code === 'NOT_FOUND')) {
        this.dropRoom({ room, reason: error.code === 'FORBIDDEN' ? 'forbidden' : 'archived' });
        return;
      }
      this.events.emit('error', error);
      this.rejoinLater(room);
    });
  }

  private rejoinLater(room: string): void {
    if (!this.backoff || this.rejoinTimers.has(room)) return;
    const attempt = (this.rejoinAttempts.get(room) ?? 0) + 1;
    this.rejoinAttempts.set(room, attempt);
    const timer = setTimeout(() => {
      this.rejoinTimers.delete(room);
      // Without a connection, the next one rejoins every room anyway.
      if (this.ready && this.rooms.has(room) && !this.requests.isPending(this.joinRequests.get(room))) this.rejoin(room);
    }, reconnectDelay(attempt, this.backoff));
    this.rejoinTimers.set(room, timer);
  }

  private forgetRoom(room: string): void {
    this.rooms.forget(room);
    this.joinRequests.delete(room);
    this.rejoinAttempts.delete(room);
    clearTimeout(this.rejoinTimers.get(room));
    this.rejoinTimers.delete(room);
  }

  private dropRoom(removed: RoomRemovedPush): void {
    this.forgetRoom(removed.room);
    this.events.emit('room.removed', removed);
  }

  private async openSocket(): Promise<void> {
    const connection = ++this.connection;
    let token: string | undefined;
    try {
      token = this.options.getToken ? await this.options.getToken() : this.options.token;
    } catch (error) {
      if (connection !== this.connection) return;
      this.events.emit('error', error as Error);
      // An error listener may have closed the client.
      if (connection !== this.connection) return;
      return this.retry(undefined, `getToken failed: ${(error as Error).message}`);
    }
    const exp = token === undefined ? undefined : tokenExpiry(token);
    this.tokenExpiresAt = exp === undefined ? undefined : exp * 1000;
    if (!this.options.getToken && this.tokenExpiresAt !== undefined && this.tokenExpiresAt <= Date.now()) {
      return this.finish(undefined, 'the token has expired and there is no getToken to renew it');
    }
    let socket: WebSocketLike;
    try {
      const { url, headers } = handshakeRequest({ ...this.options, auth: this.auth }, this.auth === 'first-frame' ? undefined : token);
      const WebSocketClass = await loadWebSocket(this.options.WebSocket, headers !== undefined);
      if (connection !== this.connection) return;
      socket = headers ? new WebSocketClass(url, undefined, { headers }) : new WebSocketClass(url);
    } catch (error) {
      // A bad URL, or no WebSocket class that can do what the options ask: no retry fixes that.
      if (connection === this.connection) this.finish(undefined, (error as Error).message);
      return;
    }
    this.socket = socket;
    let failure: { message?: string } | undefined;
    let refusal: UpgradeRefusal | undefined;
    readRefusedUpgrade(socket, (refused) => (refusal = refused));
    const openWithin = this.requestTimeoutMs > 0 ? this.requestTimeoutMs : DEFAULT_REQUEST_TIMEOUT_MS;
    this.openTimer = setTimeout(
      () => this.abandon(socket, `the connection did not open within ${openWithin} ms`),
      openWithin,
    );
    socket.onopen = () => {
      if (this.socket !== socket) return;
      if (this.auth !== 'first-frame') return this.opened();
      socket.send(JSON.stringify({ event: 'auth', id: AUTH_REQUEST_ID, data: { token } }));
    };
    socket.onmessage = (event) => {
      if (this.socket !== socket) return;
      this.lastHeardAt = Date.now();
      if (typeof event.data === 'string') this.receive(event.data);
    };
    socket.onerror = (event) => {
      failure ??= event;
    };
    socket.onclose = (event) => {
      if (this.socket === socket) this.socketClosed(event.code, event.reason, failure, refusal);
    };
  }

  private opened(): void {
    clearTimeout(this.openTimer);
    this.ready = true;
    this.lastHeardAt = Date.now();
    this.startHeartbeat();
    const resumed = this.hasOpened;
    this.hasOpened = true;
    this.attempt = 0;
    this.pacer.reset();
    for (const room of this.rooms.names()) {
      if (!this.requests.isPending(this.joinRequests.get(room))) this.rejoin(room);
    }
    this.requests.connected(this.connection);
    this.scheduleRefresh();
    this.setState({ state: 'open', resumed });
    this.opening?.resolve();
    this.opening = null;
  }

  private receive(text: string): void {
    let frame: PushFrame | ReplyFrame | null;
    try {
      frame = JSON.parse(text) as PushFrame | ReplyFrame | null;
    } catch {
      return;
    }
    if (typeof frame !== 'object' || frame === null) return;
    if (typeof frame.id === 'string') {
      if (!this.ready) {
        if (frame.id === AUTH_REQUEST_ID) this.authenticated(frame);
        return;
      }
      // Now, not when the promise settles: the replay's frames may follow in the same read.
      if (frame.event === 'room.join') this.joinAnswered(frame.id, (frame.data ?? {}) as JoinReply);
      if (!this.requests.settle(frame)) this.lateError(frame);
      return;
    }
    this.push(frame as PushFrame);
  }

  /** A message the room's filter let through: a deleted one (replayed) as `message.deleted`. */
  private passOn(message: PushMap['message']): void {
    if ('deleted' in message) this.events.emit('message.deleted', { room: message.room, seq: message.seq });
    else this.events.emit('message', message);
  }

  private push(frame: PushFrame): void {
    switch (frame.event) {
      case 'message':
        if (this.rooms.acceptMessage(frame.data.room, frame.data.seq, frame.data)) this.passOn(frame.data);
        return;
      case 'room.removed':
        if (this.rooms.has(frame.data.room)) this.dropRoom(frame.data);
        return;
      case 'message.updated':
      case 'message.deleted':
      case 'presence.join':
      case 'presence.leave':
      case 'typing':
        // Pushes still in flight from a room just left are dropped too.
        if (this.rooms.has(frame.data.room)) this.events.emit(frame.event, frame.data as never);
        return;
    }
  }

  private joinAnswered(id: string, { room, lastSeq }: JoinReply): void {
    if (this.joinRequests.get(room) === id) this.rooms.joined(room, lastSeq);
  }

  private authenticated(frame: ReplyFrame): void {
    if (frame.event === 'error') {
      // The server closes the socket (4001, or 1008 over the socket cap); the close decides what comes next.
      this.events.emit('error', SwitchboardError.fromFrame(frame.data as ErrorFrameData, 'auth'));
      return;
    }
    this.tokenExpiresAt = (frame.data as AuthReply).exp * 1000;
    this.opened();
  }

  /** An error for a request already answered: a `room.join` whose replay failed. The room is joined again. */
  private lateError(frame: ReplyFrame): void {
    if (frame.event !== 'error') return;
    for (const [room, id] of this.joinRequests) {
      if (id !== frame.id) continue;
      this.events.emit('error', SwitchboardError.fromFrame(frame.data as ErrorFrameData, 'room.join'));
      this.rejoinLater(room);
      return;
    }
  }

  /**
   * `failure`: the error event before the close, if any (`ws` says what
   * failed; browsers do not). `refusal`: a refused upgrade's status and the
   * server's reason, where they could be read (Node).
   */
  private socketClosed(
    code: number,
    reason: string,
    failure: { message?: string } | undefined,
    refusal?: UpgradeRefusal,
  ): void {
    clearTimeout(this.openTimer);
    clearTimeout(this.heartbeatTimer);
    this.socket = null;
    this.ready = false;
    this.requests.disconnected();
    this.pacer.reset();
    clearTimeout(this.refreshTimer);
    const status = refusal?.status ?? (failure && upgradeStatus(failure));
    const refused = status === undefined ? undefined : `the upgrade was refused with HTTP ${status}${refusal?.reason ? ` (${refusal.reason})` : ''}`;
    const why = reason || refused || failure?.message || 'the connection was lost';
    // A cookie the browser sends may have been renewed by the app in the meantime.
    const tokenRenewable = this.options.getToken !== undefined || (this.auth === 'cookie' && this.options.token === undefined);
    if (!this.backoff || !shouldReconnect({ code, upgradeStatus: status, tokenRenewable })) return this.finish(code, why);
    // Retried with new credentials, but the app should know that the ones it gave were refused (a first-frame
    // `auth` refused says so with its error reply): a getToken that keeps giving bad tokens is not a network fault.
    const connection = this.connection;
    if (status === 401 && this.attempt < this.backoff.maxAttempts) {
      this.events.emit('error', new SwitchboardError('UNAUTHORIZED', `${why}: the server refused the token; trying again with a new one`));
    }
    // A listener closed the client (or opened it again): that has the last word.
    if (connection === this.connection) this.retry(code, why);
  }

  private retry(closeCode: number | undefined, reason: string): void {
    const backoff = this.backoff;
    if (!backoff) return this.finish(closeCode, reason);
    this.attempt++;
    if (this.attempt > backoff.maxAttempts) return this.finish(closeCode, `${reason}; gave up after ${backoff.maxAttempts} attempts`);
    const delayMs = reconnectDelay(this.attempt, backoff);
    const connection = this.connection;
    this.setState({ state: this.hasOpened ? 'reconnecting' : 'connecting', attempt: this.attempt, delayMs, closeCode, reason });
    // A state listener closed the client (as the docs suggest for 1008).
    if (connection !== this.connection) return;
    this.reconnectTimer = setTimeout(() => void this.openSocket(), delayMs);
  }

  /** Checks, every half interval, that something was heard; if not, a `ping` must be answered within the interval. */
  private startHeartbeat(): void {
    clearTimeout(this.heartbeatTimer);
    const interval = this.options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    if (interval <= 0) return;
    const socket = this.socket!;
    let probing = false;
    const check = () => {
      if (this.socket !== socket) return;
      this.heartbeatTimer = setTimeout(check, interval / 2);
      if (probing || Date.now() - this.lastHeardAt < interval) return;
      probing = true;
      this.requests.start('ping', () => ({}), interval, { connectionBound: true }).reply.then(
        () => (probing = false),
        (error: unknown) => {
          probing = false;
          if (error instanceof SwitchboardError && error.code === 'TIMEOUT') this.abandon(socket, `no reply to ping within ${interval} ms`);
        },
      );
    };
    this.heartbeatTimer = setTimeout(check, interval / 2);
  }

  /** Gives up on a socket that went silent: handled as a dropped connection now, released in the background. */
  private abandon(socket: WebSocketLike, reason: string): void {
    if (this.socket !== socket) return;
    this.socketClosed(ABNORMAL_CLOSURE, reason, undefined);
    release(socket);
  }

  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    const getToken = this.options.getToken;
    if (!getToken || this.tokenExpiresAt === undefined) return;
    const connection = this.connection;
    const margin = this.options.refreshBeforeExpiryMs ?? DEFAULT_REFRESH_BEFORE_EXPIRY_MS;
    this.refreshTimer = setTimeout(async () => {
      try {
        // Bound to this connection: resent on the next one, it would carry a token older than the one that opened it.
        const token = await getToken();
        // The socket it was for closed meanwhile: the next one opened with a token of its own.
        if (connection !== this.connection || !this.ready) return;
        const { exp } = await this.requests.start('auth.refresh', () => ({ token }), this.requestTimeoutMs, { connectionBound: true }).reply;
        if (connection === this.connection) this.tokenExpiresAt = exp * 1000;
      } catch (error) {
        // Tried again closer to the expiry; past it, the server closes with 4001 and the reconnect takes a new token.
        if (connection === this.connection) this.events.emit('error', error as Error);
      }
      if (this.ready && connection === this.connection) this.scheduleRefresh();
    }, refreshDelay(this.tokenExpiresAt, Date.now(), margin));
  }

  /** Closes for good: no more attempts, and every waiting request fails. */
  private finish(closeCode: number | undefined, reason: string): void {
    this.connection++;
    for (const timer of [this.reconnectTimer, this.refreshTimer, this.openTimer, ...this.rejoinTimers.values()]) clearTimeout(timer);
    clearTimeout(this.heartbeatTimer);
    this.rejoinTimers.clear();
    this.socket = null;
    this.ready = false;
    this.requests.disconnected();
    this.pacer.reset();
    this.requests.failAll(new SwitchboardError('CLOSED', `the client closed: ${reason}`));
    // Taken first: a `closed` listener may call connect(), whose promise is a new one.
    const opening = this.opening;
    this.opening = null;
    opening?.reject(new SwitchboardError('CLOSED', `the client closed: ${reason}`));
    if (this.currentState !== 'closed') this.setState({ state: 'closed', closeCode, reason });
  }

  private setState(change: StateChange): void {
    this.currentState = change.state;
    this.events.emit('state', change);
  }
}

/** Creates a client and resolves once it is connected. */
export async function connect(options: ClientOptions): Promise<SwitchboardClient> {
  const client = new SwitchboardClient(options);
  await client.connect();
  return client;
}

/** Ends a socket without waiting for the other side: `ws` can terminate one, a browser's can only be closed. */
function release(socket: WebSocketLike): void {
  socket.onopen = socket.onmessage = socket.onclose = null;
  // Not null: `ws` reports a socket terminated while connecting with an error, which unheard would crash the process.
  socket.onerror = () => undefined;
  const terminate = (socket as { terminate?: () => void }).terminate;
  if (typeof terminate === 'function') terminate.call(socket);
  else socket.close();
}

function closedError(event: RequestEvent): SwitchboardError {
  return new SwitchboardError('CLOSED', 'the client is closed; connect() opens it again', event);
}

/** 128 random bits in hex; `crypto.getRandomValues` exists in every browser and in Node, unlike `randomUUID` on plain-HTTP pages. */
function newClientMsgId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}
