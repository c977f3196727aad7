import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveOptions } from '../realtime-options.js';
import { commaList, parseEnvironment } from './environment.js';
import { DEV_SECRET_FILE, loadServerSettings } from './server-settings.js';

const SECRET = 's'.repeat(32);
const PUBLIC_KEY = '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----';

function errorOf(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('parseEnvironment', () => {
  it('fills in the defaults', () => {
    const env = parseEnvironment({});
    expect(env.PORT).toBe(3000);
    expect(env.HOST).toBe('0.0.0.0');
    expect(env.NODE_ENV).toBe('development');
    expect(env.DATABASE_PATH).toBe('data/switchboard.sqlite');
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.DATABASE_RUN_MIGRATIONS).toBe(true);
    expect(env.WS_FIRST_FRAME_AUTH).toBe(false);
  });

  it('reads numbers', () => {
    expect(parseEnvironment({ PORT: '8080' }).PORT).toBe(8080);
    expect(parseEnvironment({ PORT: ' 8081 ' }).PORT).toBe(8081);
  });

  it.each(['abc', '70000', '-1', '80.5', '3000abc'])('refuses PORT=%s naming PORT', (port) => {
    expect(() => parseEnvironment({ PORT: port })).toThrow(/PORT/);
  });

  it('names every wrong variable in one error', () => {
    const error = errorOf(() =>
      parseEnvironment({ PORT: 'abc', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://db', WS_MAX_PAYLOAD_BYTES: '10' }),
    );
    expect(error.message).toMatch(/invalid configuration/);
    expect(error.message).toMatch(/^\s*PORT:/m);
    expect(error.message).toMatch(/^\s*LOG_LEVEL:/m);
    expect(error.message).toMatch(/^\s*DATABASE_URL:/m);
    expect(error.message).toMatch(/^\s*WS_MAX_PAYLOAD_BYTES:/m);
  });

  it('does not name the variables that are right', () => {
    const error = errorOf(() => parseEnvironment({ PORT: 'abc', HOST: '127.0.0.1', LOG_LEVEL: 'debug' }));
    expect(error.message).not.toMatch(/HOST/);
    expect(error.message).not.toMatch(/LOG_LEVEL/);
  });

  it('treats empty strings as unset', () => {
    const env = parseEnvironment({ PORT: '', DATABASE_PATH: '', DATABASE_URL: '', JWT_SECRET: '', DATABASE_RUN_MIGRATIONS: '' });
    expect(env.PORT).toBe(3000);
    expect(env.DATABASE_PATH).toBe('data/switchboard.sqlite');
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.JWT_SECRET).toBeUndefined();
    expect(env.DATABASE_RUN_MIGRATIONS).toBe(true);
  });

  it('ignores variables it does not know', () => {
    expect(() => parseEnvironment({ PATH: '/usr/bin', HOME: '/root', SOMETHING: 'x' })).not.toThrow();
  });

  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('reads the boolean %s', (value, expected) => {
    expect(parseEnvironment({ DATABASE_RUN_MIGRATIONS: value }).DATABASE_RUN_MIGRATIONS).toBe(expected);
    expect(parseEnvironment({ WS_FIRST_FRAME_AUTH: value }).WS_FIRST_FRAME_AUTH).toBe(expected);
  });

  it.each(['yes', 'TRUE', '2'])('refuses the boolean %s naming the variable', (value) => {
    expect(() => parseEnvironment({ OPENAPI_DOCS: value })).toThrow(/OPENAPI_DOCS/);
  });

  it('refuses a JWT_SECRET shorter than 32 characters', () => {
    expect(() => parseEnvironment({ JWT_SECRET: 's'.repeat(31) })).toThrow(/JWT_SECRET must be at least 32 characters/);
  });

  it('accepts a JWT_SECRET of 32 characters', () => {
    expect(parseEnvironment({ JWT_SECRET: SECRET }).JWT_SECRET).toBe(SECRET);
  });

  it('refuses a DATABASE_URL that is not postgres', () => {
    expect(() => parseEnvironment({ DATABASE_URL: 'mysql://localhost/db' })).toThrow(/DATABASE_URL/);
  });

  it('refuses a DATABASE_SQLITE_SYNCHRONOUS other than full or normal', () => {
    expect(() => parseEnvironment({ DATABASE_SQLITE_SYNCHRONOUS: 'off' })).toThrow(/DATABASE_SQLITE_SYNCHRONOUS/);
  });

  it('refuses an in-memory DATABASE_PATH, which the writer thread would not share, and a pool of one connection', () => {
    expect(() => parseEnvironment({ DATABASE_PATH: ':memory:' })).toThrow(/DATABASE_PATH must be a file/);
    expect(parseEnvironment({ DATABASE_PATH: 'data/:memory:.sqlite' }).DATABASE_PATH).toBe('data/:memory:.sqlite');
    expect(() => parseEnvironment({ DATABASE_POOL_SIZE: '1' })).toThrow(/DATABASE_POOL_SIZE/);
  });
});

describe('resolveOptions', () => {
  const auth = { secret: SECRET };
  it('refuses an in-memory SQLite database with the writer thread, and a PostgreSQL pool of one connection', () => {
    expect(() => resolveOptions({ auth, database: { type: 'sqlite', path: ':memory:' } })).toThrow(/:memory: is not shared with the writer thread/);
    expect(resolveOptions({ auth, database: { type: 'sqlite', path: ':memory:', writerThread: false } }).database).toMatchObject({ path: ':memory:' });
    expect(() => resolveOptions({ auth, database: { type: 'postgres', url: 'postgres://db/x', poolSize: 1 } })).toThrow('RealtimeModule: database.poolSize must be an integer from 2 to 1000, not 1');
  });

  it('refuses numeric options that are not integers in their range, as the environment is checked', () => {
    const database = { type: 'sqlite' as const, path: 'unused.sqlite' };
    expect(() => resolveOptions({ auth, database, websocket: { shutdownTimeoutMs: '10000' as unknown as number } })).toThrow(
      'RealtimeModule: websocket.shutdownTimeoutMs must be an integer from 100 to 600000, not "10000"',
    );
    expect(() => resolveOptions({ auth, database, websocket: { pingIntervalMs: 0 } })).toThrow(/websocket.pingIntervalMs/);
    expect(() => resolveOptions({ auth, database, websocket: { maxRoomsPerSocket: Number.NaN } })).toThrow(/websocket.maxRoomsPerSocket/);
    const postgres = { type: 'postgres' as const, url: 'postgres://db/x' };
    expect(() => resolveOptions({ auth, database: postgres, cluster: { redisUrl: 'redis://r', nodeTtlMs: 10 } })).toThrow(/cluster.nodeTtlMs/);
    expect(resolveOptions({ auth, database, websocket: { floodCloseAfterMs: 0 } }).websocket.floodCloseAfterMs).toBe(0);
    // Node fires a timer longer than 2^31 - 1 ms at once: a ping every millisecond.
    expect(() => resolveOptions({ auth, database, websocket: { pingIntervalMs: 2 ** 31 } })).toThrow(
      'RealtimeModule: websocket.pingIntervalMs must be an integer from 100 to 600000, not 2147483648',
    );
    expect(() => resolveOptions({ auth, database: { ...postgres, statementTimeoutMs: 50 } })).toThrow(/database.statementTimeoutMs must be an integer from 100/);
    expect(() => resolveOptions({ auth, database, admin: { rateLimitBurst: 0 } })).toThrow('RealtimeModule: admin.rateLimitBurst must be an integer from 1 to 100000, not 0');
    expect(() => resolveOptions({ auth, database, admin: { rateLimitPerSecond: 1.5 } })).toThrow(/admin.rateLimitPerSecond/);
    expect(resolveOptions({ auth, database, admin: { rateLimitBurst: 40 } }).admin).toEqual({ rateLimitPerSecond: 20, rateLimitBurst: 40 });
  });
});

describe('.env.example', () => {
  it('lists every setting', () => {
    const listed = new Set([...readFileSync('.env.example', 'utf8').matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]));
    expect(Object.keys(parseEnvironment({})).filter((setting) => !listed.has(setting))).toEqual([]);
  });
});

describe('commaList', () => {
  it('trims items and drops empty ones', () => {
    expect(commaList(' alice, bob ,,')).toEqual(['alice', 'bob']);
  });

  it('is empty for an empty string', () => {
    expect(commaList('')).toEqual([]);
    expect(commaList(' , ')).toEqual([]);
  });
});

describe('loadServerSettings', () => {
  it('uses the defaults', () => {
    const settings = loadServerSettings({ JWT_SECRET: SECRET });
    expect(settings.port).toBe(3000);
    expect(settings.host).toBe('0.0.0.0');
    expect(settings.production).toBe(false);
    expect(settings.devSecretFile).toBeNull();
    expect(settings.realtime.auth.secret).toBe(SECRET);
    expect(settings.realtime.authorization).toEqual({ defaultRole: 'member', bootstrapAdmins: [], permissionCacheSize: 100_000 });
    expect(settings.realtime.websocket).toEqual({
      path: '/ws',
      allowedOrigins: [],
      maxPayloadBytes: 65_536,
      pingIntervalMs: 25_000,
      rateLimitPerSecond: 50,
      rateLimitBurst: 100,
      floodCloseAfterMs: 3000,
      maxRoomsPerSocket: 100,
      maxSocketsPerUser: 20,
      maxBufferedBytes: 1_048_576,
      shutdownTimeoutMs: 10_000,
    });
    expect(settings.realtime.admin).toEqual({ rateLimitPerSecond: 20, rateLimitBurst: 500 });
    const admin = loadServerSettings({ JWT_SECRET: SECRET, ADMIN_RATE_LIMIT_PER_SECOND: '5', ADMIN_RATE_LIMIT_BURST: '50' }).realtime.admin;
    expect(admin).toEqual({ rateLimitPerSecond: 5, rateLimitBurst: 50 });
    expect(() => parseEnvironment({ ADMIN_RATE_LIMIT_BURST: '0' })).toThrow('ADMIN_RATE_LIMIT_BURST must be an integer from 1 to 100000');
  });

  it('chooses SQLite at DATABASE_PATH without DATABASE_URL', () => {
    expect(loadServerSettings({ JWT_SECRET: SECRET }).realtime.database).toEqual({
      type: 'sqlite',
      path: 'data/switchboard.sqlite',
      runMigrations: true,
      writerThread: true,
      synchronous: 'full',
    });
    expect(loadServerSettings({ JWT_SECRET: SECRET, DATABASE_PATH: '/var/lib/sb.sqlite', DATABASE_WRITER_THREAD: 'false', DATABASE_SQLITE_SYNCHRONOUS: 'normal' }).realtime.database).toMatchObject({
      type: 'sqlite',
      path: '/var/lib/sb.sqlite',
      writerThread: false,
      synchronous: 'normal',
    });
  });

  it('chooses PostgreSQL with DATABASE_URL', () => {
    const settings = loadServerSettings({
      JWT_SECRET: SECRET,
      DATABASE_URL: 'postgres://u:p@db:5432/switchboard',
      DATABASE_POOL_SIZE: '4',
      DATABASE_RUN_MIGRATIONS: 'false',
      DATABASE_STATEMENT_TIMEOUT_MS: '2500',
      DATABASE_PREPARED_STATEMENTS: 'false',
    });
    expect(settings.realtime.database).toEqual({
      type: 'postgres',
      url: 'postgres://u:p@db:5432/switchboard',
      runMigrations: false,
      poolSize: 4,
      statementTimeoutMs: 2500,
      preparedStatements: false,
    });
  });

  it('refuses a wrong PORT naming it', () => {
    for (const port of ['abc', '70000']) {
      const error = errorOf(() => loadServerSettings({ JWT_SECRET: SECRET, PORT: port }));
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toMatch(/PORT/);
    }
  });

  it('splits comma lists', () => {
    const settings = loadServerSettings({
      JWT_SECRET: SECRET,
      BOOTSTRAP_ADMINS: ' alice, bob ,,',
      WS_ALLOWED_ORIGINS: 'https://a.example, https://b.example',
    });
    expect(settings.realtime.authorization?.bootstrapAdmins).toEqual(['alice', 'bob']);
    expect(settings.realtime.websocket?.allowedOrigins).toEqual(['https://a.example', 'https://b.example']);
  });

  it('requires JWT_SECRET or JWT_PUBLIC_KEY in production', () => {
    const error = errorOf(() => loadServerSettings({ NODE_ENV: 'production' }));
    expect(error.message).toMatch(/JWT_SECRET/);
    expect(error.message).toMatch(/JWT_PUBLIC_KEY/);
  });

  it('treats an empty JWT_SECRET as missing in production', () => {
    expect(() => loadServerSettings({ NODE_ENV: 'production', JWT_SECRET: '', JWT_PUBLIC_KEY: '' })).toThrow(/JWT_SECRET/);
  });

  it('accepts a secret in production', () => {
    const settings = loadServerSettings({ NODE_ENV: 'production', JWT_SECRET: SECRET });
    expect(settings.production).toBe(true);
    expect(settings.devSecretFile).toBeNull();
    expect(settings.realtime.auth.secret).toBe(SECRET);
  });

  it('serves the chat page except in production, and dev tokens only when asked, never in production or with a public key', () => {
    expect(loadServerSettings({ JWT_SECRET: SECRET })).toMatchObject({ webUi: true, devTokens: false });
    expect(loadServerSettings({ NODE_ENV: 'production', JWT_SECRET: SECRET })).toMatchObject({ webUi: false, devTokens: false });
    expect(loadServerSettings({ NODE_ENV: 'production', JWT_SECRET: SECRET, WEB_UI: 'true' }).webUi).toBe(true);
    expect(loadServerSettings({ JWT_SECRET: SECRET, DEV_TOKENS: 'true' }).devTokens).toBe(true);
    expect(errorOf(() => loadServerSettings({ NODE_ENV: 'production', JWT_SECRET: SECRET, DEV_TOKENS: 'true' })).message).toMatch(/DEV_TOKENS.*production/);
    expect(errorOf(() => loadServerSettings({ JWT_PUBLIC_KEY: PUBLIC_KEY, DEV_TOKENS: 'true' })).message).toMatch(/DEV_TOKENS.*JWT_PUBLIC_KEY/);
    expect(errorOf(() => loadServerSettings({ JWT_SECRET: SECRET, DEV_TOKENS: 'yes' })).message).toMatch(/DEV_TOKENS/);
  });

  it('accepts a public key with escaped newlines', () => {
    const settings = loadServerSettings({ NODE_ENV: 'production', JWT_PUBLIC_KEY: PUBLIC_KEY.replace(/\n/g, '\\n') });
    expect(settings.realtime.auth.publicKey).toBe(PUBLIC_KEY);
    expect(settings.realtime.auth.secret).toBeUndefined();
  });

  it('refuses both JWT_SECRET and JWT_PUBLIC_KEY', () => {
    const error = errorOf(() => loadServerSettings({ JWT_SECRET: SECRET, JWT_PUBLIC_KEY: PUBLIC_KEY }));
    expect(error.message).toMatch(/JWT_SECRET/);
    expect(error.message).toMatch(/JWT_PUBLIC_KEY/);
  });

  it('refuses a JWT_SECRET shorter than 32 characters', () => {
    expect(() => loadServerSettings({ NODE_ENV: 'production', JWT_SECRET: 'too-short' })).toThrow(/JWT_SECRET/);
  });

  describe('WEB_UI and DEV_TOKENS', () => {
    it('serves the page by default in development only', () => {
      expect(loadServerSettings({ JWT_SECRET: SECRET }).webUi).toBe(true);
      expect(loadServerSettings({ JWT_SECRET: SECRET, NODE_ENV: 'test' }).webUi).toBe(false);
      expect(loadServerSettings({ JWT_SECRET: SECRET, NODE_ENV: 'production' }).webUi).toBe(false);
      expect(loadServerSettings({ JWT_SECRET: SECRET, NODE_ENV: 'production', WEB_UI: 'true' }).webUi).toBe(true);
      expect(loadServerSettings({ JWT_SECRET: SECRET, WEB_UI: 'false' }).webUi).toBe(false);
    });

    it('keeps development tokens off unless set, where a secret was configured', () => {
      expect(loadServerSettings({ JWT_SECRET: SECRET }).devTokens).toBe(false);
      expect(loadServerSettings({ JWT_SECRET: SECRET, DEV_TOKENS: 'true' }).devTokens).toBe(true);
      expect(loadServerSettings({ JWT_SECRET: SECRET, NODE_ENV: 'test', DEV_TOKENS: 'true' }).devTokens).toBe(true);
    });

    it('refuses development tokens in production, even with a secret', () => {
      const error = errorOf(() => loadServerSettings({ NODE_ENV: 'production', JWT_SECRET: SECRET, DEV_TOKENS: 'true' }));
      expect(error.message).toMatch(/^\s*DEV_TOKENS: refused when NODE_ENV=production/m);
      expect(loadServerSettings({ NODE_ENV: 'production', JWT_SECRET: SECRET, DEV_TOKENS: 'false' }).devTokens).toBe(false);
    });

    it('refuses development tokens where the server verifies with a public key: it has nothing to sign with', () => {
      const error = errorOf(() => loadServerSettings({ JWT_PUBLIC_KEY: PUBLIC_KEY, DEV_TOKENS: 'true' }));
      expect(error.message).toMatch(/^\s*DEV_TOKENS: the server verifies tokens with JWT_PUBLIC_KEY and cannot sign any/m);
      expect(loadServerSettings({ JWT_PUBLIC_KEY: PUBLIC_KEY }).devTokens).toBe(false);
    });

    it.each(['yes', 'on', '2'])('refuses %s as a boolean, naming the variable', (value) => {
      expect(() => loadServerSettings({ JWT_SECRET: SECRET, WEB_UI: value })).toThrow(/WEB_UI/);
      expect(() => loadServerSettings({ JWT_SECRET: SECRET, DEV_TOKENS: value })).toThrow(/DEV_TOKENS/);
    });
  });

  describe('development secret', () => {
    const repositoryDirectory = process.cwd();
    let directory: string;

    beforeEach(() => {
      directory = realpathSync(mkdtempSync(join(tmpdir(), 'switchboard-settings-')));
      process.chdir(directory);
    });

    afterEach(() => {
      process.chdir(repositoryDirectory);
      rmSync(directory, { recursive: true, force: true });
    });

    it('is created with mode 0600 when no JWT setting is given', () => {
      const settings = loadServerSettings({});
      const file = join(directory, DEV_SECRET_FILE);
      expect(settings.devSecretFile).toBe(DEV_SECRET_FILE);
      expect(existsSync(file)).toBe(true);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8').trim()).toBe(settings.realtime.auth.secret);
      expect(settings.realtime.auth.secret!.length).toBeGreaterThanOrEqual(32);
    });

    it('is reused on the next start', () => {
      const first = loadServerSettings({});
      const second = loadServerSettings({ JWT_SECRET: '' });
      expect(second.realtime.auth.secret).toBe(first.realtime.auth.secret);
      expect(second.devSecretFile).toBe(DEV_SECRET_FILE);
    });

    it('is read from an existing file', () => {
      mkdirSync(join(directory, 'data'));
      writeFileSync(join(directory, DEV_SECRET_FILE), 'an-existing-development-secret-of-some-length\n');
      expect(loadServerSettings({}).realtime.auth.secret).toBe('an-existing-development-secret-of-some-length');
    });

    it('is not created when a secret is given', () => {
      loadServerSettings({ JWT_SECRET: SECRET });
      expect(existsSync(join(directory, DEV_SECRET_FILE))).toBe(false);
    });

    it('turns development tokens on by default in development, with the secret generated on this machine', () => {
      expect(loadServerSettings({}).devTokens).toBe(true);
      expect(loadServerSettings({ NODE_ENV: 'test' }).devTokens).toBe(false);
      expect(loadServerSettings({ DEV_TOKENS: 'false' }).devTokens).toBe(false);
    });

    it('is not created in production', () => {
      expect(() => loadServerSettings({ NODE_ENV: 'production' })).toThrow();
      expect(existsSync(join(directory, DEV_SECRET_FILE))).toBe(false);
    });
  });
});
