import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { tenantKeyPrefix, userKey, type AuthenticatedUser } from '../auth/authenticated-user.js';
import { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';
import { Connection } from './connection.js';
import { WebSocketTransport, type Transport } from './transport.js';

/** The open sockets (and event streams) of this node, by socket and by user. */
@Injectable()
export class ConnectionRegistry {
  /** Connection ids stay unique across nodes and restarts. */
  private readonly nodePrefix = randomBytes(4).toString('hex');
  private sequence = 0;
  /** A user's connections; the connection itself while it is the user's only one (most users have one, and a Set each cost a fifth of a kilobyte per socket). */
  private readonly byUser = new Map<string, Connection | Set<Connection>>();
  /** Every open socket, authenticated or not. */
  readonly all = new Set<Connection>();
  /** Long polls waiting per user (userKey): not connections, but they count toward the user's cap. */
  private readonly waitingPolls = new Map<string, number>();

  constructor(
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly metrics: RealtimeMetrics,
  ) {}

  open(socket: WebSocket, user: AuthenticatedUser | null): Connection {
    return this.attach(new WebSocketTransport(socket), user);
  }

  /** A connection over another transport (the event streams of src/fallback). */
  attach(transport: Transport, user: AuthenticatedUser | null): Connection {
    const id = `${this.nodePrefix}-${(++this.sequence).toString(36)}`;
    const connection = new Connection(id, transport, user, this.options.websocket.maxBufferedBytes, this.metrics);
    this.all.add(connection);
    this.metrics.sockets.set(this.all.size);
    if (user) this.index(connection, user);
    return connection;
  }

  /** Records who a first-frame-authenticated socket belongs to. */
  authenticated(connection: Connection, user: AuthenticatedUser): void {
    connection.user = user;
    connection.authenticatedAt = Date.now();
    this.index(connection, user);
  }

  remove(connection: Connection): void {
    this.all.delete(connection);
    this.metrics.sockets.set(this.all.size);
    if (!connection.user) return;
    const key = userKey(connection.user.tenantId, connection.user.id);
    const connections = this.byUser.get(key);
    if (connections === connection) this.byUser.delete(key);
    else if (connections instanceof Set && connections.delete(connection) && connections.size === 1) {
      this.byUser.set(key, connections.values().next().value!);
    }
  }

  /**
   * Why the user may not open another socket, event stream or long poll on
   * this node (`WS_MAX_SOCKETS_PER_USER` counts all three), or undefined.
   */
  capReached({ tenantId, id }: AuthenticatedUser): string | undefined {
    const key = userKey(tenantId, id);
    const connections = this.byUser.get(key);
    const open = (connections === undefined ? 0 : connections instanceof Set ? connections.size : 1) + (this.waitingPolls.get(key) ?? 0);
    if (open < this.options.websocket.maxSocketsPerUser) return undefined;
    return `this user has ${open} sockets, event streams and polls open, the most allowed`;
  }

  /** A long poll of the user begins to wait; returns the function that ends it. */
  pollWaiting({ tenantId, id }: AuthenticatedUser): () => void {
    const key = userKey(tenantId, id);
    this.waitingPolls.set(key, (this.waitingPolls.get(key) ?? 0) + 1);
    return () => {
      const left = (this.waitingPolls.get(key) ?? 1) - 1;
      if (left > 0) this.waitingPolls.set(key, left);
      else this.waitingPolls.delete(key);
    };
  }

  ofUser(tenantId: string, userId: string): ReadonlySet<Connection> {
    const connections = this.byUser.get(userKey(tenantId, userId));
    return connections === undefined ? new Set() : connections instanceof Set ? connections : new Set([connections]);
  }

  /** Authenticated connections of a tenant. */
  *authenticatedIn(tenantId: string): Iterable<Connection> {
    const prefix = tenantKeyPrefix(tenantId);
    for (const [key, connections] of this.byUser) {
      if (!key.startsWith(prefix)) continue;
      if (connections instanceof Set) yield* connections;
      else yield connections;
    }
  }

  private index(connection: Connection, user: AuthenticatedUser): void {
    const key = userKey(user.tenantId, user.id);
    const connections = this.byUser.get(key);
    if (connections === undefined) this.byUser.set(key, connection);
    else if (connections instanceof Set) connections.add(connection);
    else if (connections !== connection) this.byUser.set(key, new Set([connections, connection]));
  }
}
