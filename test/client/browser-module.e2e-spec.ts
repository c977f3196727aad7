import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { WebSocket } from 'ws';
import type * as ClientModule from '../../client/index.js';
import { freshDatabase } from '../support/databases.js';
import { startServer, type TestServer } from '../support/test-server.js';
import { token } from '../support/tokens.js';
import { waitUntil } from '../support/wait.js';

const entry = fileURLToPath(new URL('../../dist/client/index.js', import.meta.url));

const openedUrls: string[] = [];

/** A WebSocket as browsers have it: (url, protocols), no headers. */
class BrowserWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols);
    openedUrls.push(url);
  }
}

/**
 * Loads the compiled client (dist/client, built by `npm test`) as a browser
 * would load it with <script type="module">: a module graph that may only
 * use relative imports, in a realm with browser globals and nothing of
 * Node's (no process, Buffer, require), where WebSocket is the runtime's own.
 */
async function loadInBrowserLikeRealm(): Promise<typeof ClientModule> {
  const { URL: Url, TextEncoder: Encoder, TextDecoder: Decoder, atob: decode, crypto: webCrypto } = globalThis;
  const context = vm.createContext({
    WebSocket: BrowserWebSocket,
    URL: Url,
    TextEncoder: Encoder,
    TextDecoder: Decoder,
    atob: decode,
    crypto: webCrypto,
    setTimeout,
    clearTimeout,
    queueMicrotask,
    console,
  });
  const modules = new Map<string, vm.SourceTextModule>();
  const load = (path: string): vm.SourceTextModule => {
    let module = modules.get(path);
    if (!module) {
      module = new vm.SourceTextModule(readFileSync(path, 'utf8'), { identifier: path, context });
      modules.set(path, module);
    }
    return module;
  };
  const root = load(entry);
  await root.link((specifier, referencing) => {
    if (!/^\.\.?\/.*\.js$/.test(specifier)) throw new Error(`${referencing.identifier} imports ${specifier}: a browser cannot resolve it`);
    return load(resolve(dirname(referencing.identifier), specifier));
  });
  await root.evaluate();
  return root.namespace as typeof ClientModule;
}

describe('the compiled client in a browser-like realm', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer(await freshDatabase('sqlite'));
  });
  afterAll(async () => {
    await server.close();
  });

  it('loads with relative imports only, uses the native WebSocket with the token in the query, and chats', async () => {
    const { connect } = await loadInBrowserLikeRealm();
    const alice = await connect({ url: server.wsUrl, getToken: async () => token('alice') });
    const bob = await connect({ url: server.wsUrl, token: token('bob') });
    try {
      const received: string[] = [];
      bob.on('message', (message) => received.push(`${message.seq} ${message.sender.id}: ${message.text}`));
      await alice.join('browser');
      await bob.join('browser');
      const ack = await alice.send('browser', 'hello from a module');
      expect(ack).toMatchObject({ seq: 1, duplicate: false });
      expect(openedUrls.map((url) => new URL(url).searchParams.has('access_token'))).toEqual([true, true]);
      await waitUntil(() => received.length === 1);
      expect(received).toEqual(['1 alice: hello from a module']);
      await expect(alice.join('no spaces allowed')).rejects.toMatchObject({ name: 'SwitchboardError', code: 'BAD_REQUEST' });
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  });
});
