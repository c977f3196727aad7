import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional, IsString, Matches, MinLength, registerDecorator, validateSync } from 'class-validator';
import { OPTION_BOUNDS } from '../realtime-options.js';

const toBoolean = ({ value }: { value: unknown }) =>
  value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value;
const toInteger = ({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value);

/** An integer setting within bounds, with one message that says both. */
function IntegerSetting({ min, max }: { min: number; max: number }): PropertyDecorator {
  return (target, propertyName) => {
    Transform(toInteger)(target, propertyName);
    registerDecorator({
      name: 'integerSetting',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: `$property must be an integer from ${min} to ${max}` },
      validator: { validate: (value: unknown) => Number.isInteger(value) && (value as number) >= min && (value as number) <= max },
    });
  };
}

/**
 * Every setting of the server, as environment variables (see .env.example).
 * A wrong value stops the start with a message naming the variable.
 */
export class Environment {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @IntegerSetting({ min: 0, max: 65535 })
  PORT = 3000;

  @IsString()
  HOST = '0.0.0.0';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  @IsString()
  @MinLength(1)
  // The writer thread opens the file too: an in-memory database would be another, empty one.
  @Matches(/^(?!:memory:$)/, { message: 'DATABASE_PATH must be a file; :memory: is not shared with the writer thread' })
  DATABASE_PATH = 'data/switchboard.sqlite';

  @IsOptional()
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;

  @Transform(toBoolean)
  @IsBoolean()
  DATABASE_RUN_MIGRATIONS = true;

  @Transform(toBoolean)
  @IsBoolean()
  DATABASE_WRITER_THREAD = true;

  @IsIn(['full', 'normal'])
  DATABASE_SQLITE_SYNCHRONOUS: 'full' | 'normal' = 'full';

  @IntegerSetting(OPTION_BOUNDS.poolSize)
  DATABASE_POOL_SIZE = 10;

  @IntegerSetting(OPTION_BOUNDS.statementTimeoutMs)
  DATABASE_STATEMENT_TIMEOUT_MS = 15_000;

  @Transform(toBoolean)
  @IsBoolean()
  DATABASE_PREPARED_STATEMENTS = true;

  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters' })
  JWT_SECRET?: string;

  @IsOptional()
  @Matches(/-----BEGIN PUBLIC KEY-----/, { message: 'JWT_PUBLIC_KEY must be a PEM public key' })
  JWT_PUBLIC_KEY?: string;

  @IsOptional()
  @IsIn(['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512'])
  JWT_ALGORITHM?: string;

  @IsOptional()
  @IsString()
  JWT_ISSUER?: string;

  @IsOptional()
  @IsString()
  JWT_AUDIENCE?: string;

  @IntegerSetting(OPTION_BOUNDS.clockToleranceSeconds)
  JWT_CLOCK_TOLERANCE_SECONDS = 0;

  /** Comma-separated user ids. */
  @IsString()
  BOOTSTRAP_ADMINS = '';

  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { message: 'DEFAULT_ROLE must be a role name' })
  DEFAULT_ROLE = 'member';

  @IntegerSetting(OPTION_BOUNDS.permissionCacheSize)
  PERMISSION_CACHE_SIZE = 100_000;

  @IntegerSetting(OPTION_BOUNDS.rateLimitPerSecond)
  ADMIN_RATE_LIMIT_PER_SECOND = 20;

  @IntegerSetting(OPTION_BOUNDS.rateLimitBurst)
  ADMIN_RATE_LIMIT_BURST = 500;

  @Matches(/^\/[A-Za-z0-9._~/-]*$/, { message: 'WS_PATH must be a URL path starting with /' })
  WS_PATH = '/ws';

  /** Comma-separated origins; empty allows every origin. */
  @IsString()
  WS_ALLOWED_ORIGINS = '';

  @IntegerSetting(OPTION_BOUNDS.maxPayloadBytes)
  WS_MAX_PAYLOAD_BYTES = 65_536;

  @IsOptional()
  @Matches(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { message: 'WS_AUTH_COOKIE must be a cookie name' })
  WS_AUTH_COOKIE?: string;

  @Transform(toBoolean)
  @IsBoolean()
  WS_FIRST_FRAME_AUTH = false;

  @IntegerSetting(OPTION_BOUNDS.firstFrameAuthTimeoutMs)
  WS_AUTH_TIMEOUT_MS = 5000;

  @IntegerSetting(OPTION_BOUNDS.pingIntervalMs)
  WS_PING_INTERVAL_MS = 25_000;

  @IntegerSetting(OPTION_BOUNDS.rateLimitPerSecond)
  WS_RATE_LIMIT_PER_SECOND = 50;

  @IntegerSetting(OPTION_BOUNDS.rateLimitBurst)
  WS_RATE_LIMIT_BURST = 100;

  @IntegerSetting(OPTION_BOUNDS.floodCloseAfterMs)
  WS_FLOOD_CLOSE_AFTER_MS = 3000;

  @IntegerSetting(OPTION_BOUNDS.maxRoomsPerSocket)
  WS_MAX_ROOMS_PER_SOCKET = 100;

  @IntegerSetting(OPTION_BOUNDS.maxSocketsPerUser)
  WS_MAX_SOCKETS_PER_USER = 20;

  @IntegerSetting(OPTION_BOUNDS.maxBufferedBytes)
  WS_MAX_BUFFERED_BYTES = 1_048_576;

  @IntegerSetting(OPTION_BOUNDS.shutdownTimeoutMs)
  SHUTDOWN_TIMEOUT_MS = 10_000;

  @IsOptional()
  @Matches(/^rediss?:\/\//, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  @Matches(/^[A-Za-z0-9:_.-]{0,64}$/, { message: 'REDIS_KEY_PREFIX must be up to 64 letters, digits, ":", "_", "." or "-"' })
  REDIS_KEY_PREFIX = 'switchboard:';

  @IntegerSetting(OPTION_BOUNDS.nodeTtlMs)
  CLUSTER_NODE_TTL_MS = 15_000;

  @Transform(toBoolean)
  @IsBoolean()
  OPENAPI_DOCS = true;

  @Transform(toBoolean)
  @IsBoolean()
  METRICS_ENABLED = true;

  @IsOptional()
  @MinLength(16, { message: 'METRICS_TOKEN must be at least 16 characters' })
  METRICS_TOKEN?: string;

  /** Unset: on when NODE_ENV=development (see loadServerSettings). */
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  WEB_UI?: boolean;

  /** Unset: on when NODE_ENV=development and the generated development secret is in use. */
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  DEV_TOKENS?: boolean;
}

/** Reads and checks the settings; throws one error that lists every bad variable. */
export function parseEnvironment(variables: Record<string, string | undefined>): Environment {
  const known = new Set(Object.keys(new Environment()));
  // Empty strings mean "not set", as in most .env files.
  const present = Object.fromEntries(
    Object.entries(variables).filter(([key, value]) => known.has(key) && value !== undefined && value !== ''),
  );
  const environment = plainToInstance(Environment, present);
  const errors = validateSync(environment, { whitelist: true });
  if (errors.length > 0) {
    const lines = errors.map((e) => `  ${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  return environment;
}

export function commaList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}
