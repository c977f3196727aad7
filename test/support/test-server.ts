import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { createServer } from '../../src/server.js';
import type { TestDatabase } from './databases.js';
import { TEST_AUDIENCE, TEST_ISSUER, TEST_SECRET } from './tokens.js';

/** A real server (the same as `npm start` builds) on a free loopback port. */
export interface TestServer {
  app: INestApplication;
  httpUrl: string;
  wsUrl: string;
  close(): Promise<void>;
}

/** `port`: 0 for a free one, or the port of a server just closed, to start it again where its clients reconnect. */
export async function startServer(database: TestDatabase, variables: Record<string, string> = {}, port = 0): Promise<TestServer> {
  return listening(await createServer(serverVariables(database, variables)), variables, port);
}

/** The settings of a test server on `database`, `variables` over the defaults. */
export function serverVariables(database: TestDatabase, variables: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal',
    OPENAPI_DOCS: 'true',
    JWT_SECRET: TEST_SECRET,
    JWT_ISSUER: TEST_ISSUER,
    JWT_AUDIENCE: TEST_AUDIENCE,
    BOOTSTRAP_ADMINS: 'root',
    ...database.variables,
    ...variables,
  };
}

/** Starts `app` (built by the caller, with `variables`) on a loopback port. */
export async function listening(app: INestApplication, variables: Record<string, string> = {}, port = 0): Promise<TestServer> {
  await app.listen(port, '127.0.0.1');
  const address = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    httpUrl: `http://127.0.0.1:${address.port}`,
    wsUrl: `ws://127.0.0.1:${address.port}${variables.WS_PATH ?? '/ws'}`,
    close: () => app.close(),
  };
}
