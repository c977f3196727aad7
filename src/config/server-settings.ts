import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { JwtAlgorithm, RealtimeModuleOptions } from '../realtime-options.js';
import { commaList, parseEnvironment } from './environment.js';

/** Where a development server keeps the secret it generated, so `npm run token` can use it too. */
export const DEV_SECRET_FILE = 'data/.dev-jwt-secret';

export interface ServerSettings {
  production: boolean;
  port: number;
  host: string;
  logLevel: string;
  openApiDocs: boolean;
  /** Serve Prometheus metrics at /metrics; with a token, only to `Authorization: Bearer <token>`. */
  metrics: { enabled: boolean; token?: string };
  /** Set when no JWT setting was given and a development secret is in use. */
  devSecretFile: string | null;
  /** Serve the chat page (web/) at `/` and the client SDK (dist/client) at `/client/`. */
  webUi: boolean;
  /** `POST /dev/token` mints a token for any name: development only. */
  devTokens: boolean;
  realtime: RealtimeModuleOptions;
}

/** The environment to the server's settings; throws, naming the variable, on anything wrong. */
export function loadServerSettings(variables: Record<string, string | undefined>): ServerSettings {
  const env = parseEnvironment(variables);
  const production = env.NODE_ENV === 'production';
  let secret = env.JWT_SECRET;
  const publicKey = env.JWT_PUBLIC_KEY?.replace(/\\n/g, '\n');
  if (secret && publicKey) throw new Error('invalid configuration:\n  JWT_SECRET, JWT_PUBLIC_KEY: set one of them, not both');
  const algorithm = env.JWT_ALGORITHM;
  if (algorithm?.startsWith('HS') && publicKey) {
    throw new Error(`invalid configuration:\n  JWT_ALGORITHM: ${algorithm} verifies with JWT_SECRET, but JWT_PUBLIC_KEY is set`);
  }
  if (algorithm && !algorithm.startsWith('HS') && !publicKey) {
    throw new Error(`invalid configuration:\n  JWT_ALGORITHM: ${algorithm} verifies with JWT_PUBLIC_KEY, which is not set`);
  }
  if (env.REDIS_URL && !env.DATABASE_URL) {
    throw new Error('invalid configuration:\n  REDIS_URL: a cluster needs PostgreSQL (DATABASE_URL); SQLite serves a single node');
  }
  if (env.DEV_TOKENS && production) {
    throw new Error('invalid configuration:\n  DEV_TOKENS: refused when NODE_ENV=production (it lets anyone sign in as any user)');
  }
  if (env.DEV_TOKENS && publicKey) {
    throw new Error(
      'invalid configuration:\n  DEV_TOKENS: the server verifies tokens with JWT_PUBLIC_KEY and cannot sign any; use JWT_SECRET, or mint tokens with the private key',
    );
  }
  let devSecretFile: string | null = null;
  if (!secret && !publicKey) {
    if (production) {
      throw new Error('invalid configuration:\n  JWT_SECRET or JWT_PUBLIC_KEY: one is required when NODE_ENV=production');
    }
    secret = developmentSecret();
    devSecretFile = DEV_SECRET_FILE;
  }
  const development = env.NODE_ENV === 'development';
  return {
    production,
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    openApiDocs: env.OPENAPI_DOCS,
    metrics: { enabled: env.METRICS_ENABLED, token: env.METRICS_TOKEN },
    devSecretFile,
    webUi: env.WEB_UI ?? development,
    // On by default only where nothing but this machine's generated secret is at stake.
    devTokens: env.DEV_TOKENS ?? (development && devSecretFile !== null),
    realtime: {
      database: env.DATABASE_URL
        ? {
            type: 'postgres',
            url: env.DATABASE_URL,
            runMigrations: env.DATABASE_RUN_MIGRATIONS,
            poolSize: env.DATABASE_POOL_SIZE,
            statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
            preparedStatements: env.DATABASE_PREPARED_STATEMENTS,
          }
        : {
            type: 'sqlite',
            path: env.DATABASE_PATH,
            runMigrations: env.DATABASE_RUN_MIGRATIONS,
            writerThread: env.DATABASE_WRITER_THREAD,
            synchronous: env.DATABASE_SQLITE_SYNCHRONOUS,
          },
      auth: {
        secret,
        publicKey,
        algorithm: env.JWT_ALGORITHM as JwtAlgorithm | undefined,
        issuer: env.JWT_ISSUER,
        audience: env.JWT_AUDIENCE,
        clockToleranceSeconds: env.JWT_CLOCK_TOLERANCE_SECONDS,
        cookieName: env.WS_AUTH_COOKIE,
        firstFrameAuth: env.WS_FIRST_FRAME_AUTH,
        firstFrameAuthTimeoutMs: env.WS_AUTH_TIMEOUT_MS,
      },
      authorization: {
        defaultRole: env.DEFAULT_ROLE,
        bootstrapAdmins: commaList(env.BOOTSTRAP_ADMINS),
        permissionCacheSize: env.PERMISSION_CACHE_SIZE,
      },
      websocket: {
        path: env.WS_PATH,
        allowedOrigins: commaList(env.WS_ALLOWED_ORIGINS),
        maxPayloadBytes: env.WS_MAX_PAYLOAD_BYTES,
        pingIntervalMs: env.WS_PING_INTERVAL_MS,
        rateLimitPerSecond: env.WS_RATE_LIMIT_PER_SECOND,
        rateLimitBurst: env.WS_RATE_LIMIT_BURST,
        floodCloseAfterMs: env.WS_FLOOD_CLOSE_AFTER_MS,
        maxRoomsPerSocket: env.WS_MAX_ROOMS_PER_SOCKET,
        maxSocketsPerUser: env.WS_MAX_SOCKETS_PER_USER,
        maxBufferedBytes: env.WS_MAX_BUFFERED_BYTES,
        shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
      },
      admin: { rateLimitPerSecond: env.ADMIN_RATE_LIMIT_PER_SECOND, rateLimitBurst: env.ADMIN_RATE_LIMIT_BURST },
      asyncApi: env.OPENAPI_DOCS,
      ...(env.REDIS_URL
        ? { cluster: { redisUrl: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX, nodeTtlMs: env.CLUSTER_NODE_TTL_MS } }
        : {}),
    },
  };
}

/** The secret a development server and `npm run token` share; created on first use, readable only by its owner. */
export function developmentSecret(): string {
  if (existsSync(DEV_SECRET_FILE)) return readFileSync(DEV_SECRET_FILE, 'utf8').trim();
  mkdirSync(dirname(DEV_SECRET_FILE), { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(DEV_SECRET_FILE, `${secret}\n`, { mode: 0o600 });
  chmodSync(DEV_SECRET_FILE, 0o600);
  return secret;
}

