import type { DataSource } from 'typeorm';
import { publicKeyAlgorithm } from './auth/public-key-algorithms.js';

/** Where the module keeps its tables. */
export type DatabaseOptions =
  /** An embedded SQLite file (better-sqlite3, WAL); created on first start. */
  | {
      type: 'sqlite';
      path: string;
      runMigrations?: boolean;
      /** Commit messages on a worker thread with its own connection, so that syncs to disk never stall the sockets (default true). */
      writerThread?: boolean;
      /**
       * 'full' (default): each commit is synced to disk before the ack, so an ack survives
       * a power loss. 'normal': commits reach the operating system, not the disk; an ack
       * survives a crash of the server process but not of the machine (SQLite's
       * synchronous=NORMAL in WAL mode), and the disk's sync latency leaves the delivery path.
       */
      synchronous?: 'full' | 'normal';
    }
  /** A PostgreSQL server; the module opens its own pool. */
  | {
      type: 'postgres';
      url: string;
      runMigrations?: boolean;
      poolSize?: number;
      /** A statement (or connection attempt) that takes longer fails, and the client gets UNAVAILABLE. */
      statementTimeoutMs?: number;
      /**
       * Prepare the statement that stores message batches once per pooled connection
       * (default true): it saves the database a fifth of its work per message. False
       * behind a pooler that does not keep prepared statements across transactions
       * (PgBouncer before 1.21 in transaction mode).
       */
      preparedStatements?: boolean;
    }
  /**
   * The host's own DataSource. The host adds `realtimeEntities` and
   * `realtimeMigrations` to it and runs the migrations itself.
   */
  | {
      dataSource: DataSource;
      /** On a PostgreSQL DataSource, as for `type: 'postgres'`. */
      preparedStatements?: boolean;
    };

export type JwtAlgorithm = 'HS256' | 'HS384' | 'HS512' | 'RS256' | 'RS384' | 'RS512' | 'ES256' | 'ES384' | 'ES512';

export interface AuthOptions {
  /** Shared secret for HS* tokens. Exactly one of `secret` and `publicKey` is required. */
  secret?: string;
  /** PEM public key for RS* / ES* tokens. */
  publicKey?: string;
  /** Pinned algorithm; defaults to HS256 with a secret, RS256 with an RSA key, and the curve's ES* with an EC key. */
  algorithm?: JwtAlgorithm;
  issuer?: string;
  audience?: string;
  /** Allowed clock skew when checking `exp` and `nbf`. */
  clockToleranceSeconds?: number;
  /** Name of a cookie that may carry the token at the handshake. */
  cookieName?: string;
  /** Accept upgrades without a token and expect an `auth` frame first. */
  firstFrameAuth?: boolean;
  firstFrameAuthTimeoutMs?: number;
}

export interface AuthorizationOptions {
  /** Role of a user who has no assignment in their tenant. */
  defaultRole?: string;
  /** User ids (`sub`) that hold `admin` in whatever tenant their token names. */
  bootstrapAdmins?: string[];
  /** Users whose effective permissions are kept in memory at once. */
  permissionCacheSize?: number;
}

export interface WebSocketOptions {
  path?: string;
  /** Origins allowed to open a socket; when empty every origin is. A request without `Origin` (not a browser) is not checked. */
  allowedOrigins?: string[];
  /** Larger frames close the socket with 1009. */
  maxPayloadBytes?: number;
  /** Protocol-level ping interval; a socket that missed two pongs is terminated. */
  pingIntervalMs?: number;
  /** Frames per second a socket may send, sustained (every frame counts, good or bad). */
  rateLimitPerSecond?: number;
  /** Frames a socket may send in a burst above the sustained rate. */
  rateLimitBurst?: number;
  /** A refusal this long or more into a flood (see FrameBudget: from a refusal until the socket has sent a second's worth of frames fewer than its rate allows) closes the socket with 4008. */
  floodCloseAfterMs?: number;
  maxRoomsPerSocket?: number;
  /** Sockets one user may hold open on one node. */
  maxSocketsPerUser?: number;
  /** Bytes queued for a socket that does not read before it is closed with 4009. */
  maxBufferedBytes?: number;
  /** How long a shutdown waits for frames in progress and for sockets to close. */
  shutdownTimeoutMs?: number;
}

/** The `/admin` API's rate limit: each user's requests on one node draw from a budget of their own, apart from the fallback routes'. */
export interface AdminOptions {
  /** Requests per second a user may make to the admin API, sustained. */
  rateLimitPerSecond?: number;
  /** Requests a user may make to the admin API at once (a bulk job of up to this many runs at full speed). */
  rateLimitBurst?: number;
}

export interface ClusterOptions {
  /** Redis, the broker between the nodes: room fan-out, presence, admin changes. */
  redisUrl: string;
  /** Prefix of every key and channel, so that deployments can share a Redis. */
  keyPrefix?: string;
  /** A node silent for this long is taken for dead: its sockets leave presence. */
  nodeTtlMs?: number;
}

export interface RealtimeModuleOptions {
  database: DatabaseOptions;
  auth: AuthOptions;
  authorization?: AuthorizationOptions;
  websocket?: WebSocketOptions;
  admin?: AdminOptions;
  /** Several nodes behind a load balancer, sharing PostgreSQL and Redis. */
  cluster?: ClusterOptions;
  /** Serve the AsyncAPI document of the WebSocket protocol at `GET /asyncapi.json` (default true). */
  asyncApi?: boolean;
}

/** Options with every default filled in: what the services read. */
export interface ResolvedRealtimeOptions {
  database: DatabaseOptions;
  auth: Required<Pick<AuthOptions, 'algorithm' | 'clockToleranceSeconds' | 'firstFrameAuth' | 'firstFrameAuthTimeoutMs'>> &
    Omit<AuthOptions, 'algorithm' | 'clockToleranceSeconds' | 'firstFrameAuth' | 'firstFrameAuthTimeoutMs'>;
  authorization: Required<AuthorizationOptions>;
  websocket: Required<WebSocketOptions>;
  admin: Required<AdminOptions>;
  cluster: Required<ClusterOptions> | null;
  asyncApi: boolean;
}

export const REALTIME_OPTIONS = Symbol('REALTIME_OPTIONS');

/**
 * The bounds of each numeric option, checked here and in the server's
 * environment (config/environment.ts). The upper bounds keep durations within
 * what a timer can wait (Node fires a longer timeout at once) and sizes within
 * what a node can hold.
 */
export const OPTION_BOUNDS = {
  poolSize: { min: 2, max: 1000 }, // migrations run beside the connection that holds their lock
  statementTimeoutMs: { min: 100, max: 600_000 },
  clockToleranceSeconds: { min: 0, max: 300 },
  firstFrameAuthTimeoutMs: { min: 100, max: 600_000 },
  permissionCacheSize: { min: 1, max: 10_000_000 },
  maxPayloadBytes: { min: 1024, max: 16 * 1024 * 1024 },
  pingIntervalMs: { min: 100, max: 600_000 },
  rateLimitPerSecond: { min: 1, max: 100_000 }, // websocket.* and admin.*
  rateLimitBurst: { min: 1, max: 100_000 }, // websocket.* and admin.*
  floodCloseAfterMs: { min: 0, max: 600_000 },
  maxRoomsPerSocket: { min: 1, max: 100_000 },
  maxSocketsPerUser: { min: 1, max: 100_000 },
  maxBufferedBytes: { min: 131_072, max: 1024 * 1024 * 1024 }, // a message frame can approach 40 KB: the buffer must hold a few
  shutdownTimeoutMs: { min: 100, max: 600_000 },
  nodeTtlMs: { min: 1000, max: 600_000 },
} as const;

export function resolveOptions(options: RealtimeModuleOptions): ResolvedRealtimeOptions {
  const { auth } = options;
  if (!auth || (!auth.secret && !auth.publicKey)) {
    throw new Error('RealtimeModule: auth.secret or auth.publicKey is required');
  }
  if (auth.secret && auth.publicKey) {
    throw new Error('RealtimeModule: set auth.secret or auth.publicKey, not both');
  }
  const algorithm = auth.publicKey ? publicKeyAlgorithm(auth.publicKey, auth.algorithm) : (auth.algorithm ?? 'HS256');
  if (auth.secret && !algorithm.startsWith('HS')) {
    throw new Error(`RealtimeModule: auth.algorithm ${algorithm} needs auth.publicKey, not a secret`);
  }
  const { database, cluster } = options;
  const sqlite = 'dataSource' in database ? database.dataSource.options.type !== 'postgres' : database.type === 'sqlite';
  if (cluster && sqlite) {
    throw new Error('RealtimeModule: a cluster (cluster.redisUrl) needs PostgreSQL; SQLite serves a single node');
  }
  if ('type' in database && database.type === 'sqlite' && database.path === ':memory:' && database.writerThread !== false) {
    throw new Error('RealtimeModule: database.path :memory: is not shared with the writer thread; use a file, or writerThread: false');
  }
  const resolved: ResolvedRealtimeOptions = {
    database,
    auth: {
      ...auth,
      algorithm,
      clockToleranceSeconds: auth.clockToleranceSeconds ?? 0,
      firstFrameAuth: auth.firstFrameAuth ?? false,
      firstFrameAuthTimeoutMs: auth.firstFrameAuthTimeoutMs ?? 5000,
    },
    authorization: {
      defaultRole: options.authorization?.defaultRole ?? 'member',
      bootstrapAdmins: options.authorization?.bootstrapAdmins ?? [],
      permissionCacheSize: options.authorization?.permissionCacheSize ?? 100_000,
    },
    websocket: {
      path: options.websocket?.path ?? '/ws',
      allowedOrigins: options.websocket?.allowedOrigins ?? [],
      maxPayloadBytes: options.websocket?.maxPayloadBytes ?? 65_536,
      pingIntervalMs: options.websocket?.pingIntervalMs ?? 25_000,
      rateLimitPerSecond: options.websocket?.rateLimitPerSecond ?? 50,
      rateLimitBurst: options.websocket?.rateLimitBurst ?? 100,
      floodCloseAfterMs: options.websocket?.floodCloseAfterMs ?? 3000,
      maxRoomsPerSocket: options.websocket?.maxRoomsPerSocket ?? 100,
      maxSocketsPerUser: options.websocket?.maxSocketsPerUser ?? 20,
      maxBufferedBytes: options.websocket?.maxBufferedBytes ?? 1_048_576,
      shutdownTimeoutMs: options.websocket?.shutdownTimeoutMs ?? 10_000,
    },
    admin: {
      rateLimitPerSecond: options.admin?.rateLimitPerSecond ?? 20,
      rateLimitBurst: options.admin?.rateLimitBurst ?? 500,
    },
    cluster: cluster
      ? { redisUrl: cluster.redisUrl, keyPrefix: cluster.keyPrefix ?? 'switchboard:', nodeTtlMs: cluster.nodeTtlMs ?? 15_000 }
      : null,
    asyncApi: options.asyncApi ?? true,
  };
  assertNumbers(resolved);
  return resolved;
}

/**
 * The numeric options, checked as the server's environment is (a host's
 * ConfigService gives strings, and a string would be added, not summed).
 */
function assertNumbers({ database, auth, authorization, websocket, admin, cluster }: ResolvedRealtimeOptions): void {
  type Bounded = keyof typeof OPTION_BOUNDS;
  const numbers: Array<[string, unknown, Bounded]> = [
    ['auth.clockToleranceSeconds', auth.clockToleranceSeconds, 'clockToleranceSeconds'],
    ['auth.firstFrameAuthTimeoutMs', auth.firstFrameAuthTimeoutMs, 'firstFrameAuthTimeoutMs'],
    ['authorization.permissionCacheSize', authorization.permissionCacheSize, 'permissionCacheSize'],
    ...(Object.keys(websocket) as Array<keyof typeof websocket>)
      .filter((name): name is Bounded & keyof typeof websocket => name in OPTION_BOUNDS)
      .map((name): [string, unknown, Bounded] => [`websocket.${name}`, websocket[name], name]),
    ['admin.rateLimitPerSecond', admin.rateLimitPerSecond, 'rateLimitPerSecond'],
    ['admin.rateLimitBurst', admin.rateLimitBurst, 'rateLimitBurst'],
  ];
  if ('type' in database && database.type === 'postgres') {
    if (database.poolSize !== undefined) numbers.push(['database.poolSize', database.poolSize, 'poolSize']);
    if (database.statementTimeoutMs !== undefined) numbers.push(['database.statementTimeoutMs', database.statementTimeoutMs, 'statementTimeoutMs']);
  }
  if (cluster) numbers.push(['cluster.nodeTtlMs', cluster.nodeTtlMs, 'nodeTtlMs']);
  for (const [name, value, bounded] of numbers) {
    const { min, max } = OPTION_BOUNDS[bounded];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new Error(`RealtimeModule: ${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(value)}`);
    }
  }
}
