import { freshDatabase, type DatabaseKind, type TestDatabase } from './databases.js';
import { TestClient, type ConnectOptions } from './test-client.js';
import { startServer, type TestServer } from './test-server.js';
import { token, type TokenOptions } from './tokens.js';

export interface SuiteServer {
  readonly server: TestServer;
  readonly database: TestDatabase;
  /** A client for `sub`, closed after each test. */
  connect(sub: string, options?: TokenOptions, connectOptions?: ConnectOptions): Promise<TestClient>;
}

/** One server on a fresh database for the whole suite, and clients that do not outlive their test. */
export function suiteServer(kind: DatabaseKind, variables: Record<string, string> = {}): SuiteServer {
  let server: TestServer | undefined;
  let database: TestDatabase | undefined;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    database = await freshDatabase(kind);
    server = await startServer(database, variables);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  afterAll(async () => {
    await server?.close();
  });

  return {
    get server() {
      return server!;
    },
    get database() {
      return database!;
    },
    async connect(sub, options = {}, connectOptions = {}) {
      const client = await TestClient.connect(server!.wsUrl, { ...connectOptions, token: token(sub, options) });
      clients.push(client);
      return client;
    },
  };
}
