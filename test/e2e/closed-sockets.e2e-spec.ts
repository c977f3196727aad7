import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Connection } from '../../src/delivery/connection.js';
import { ConnectionRegistry } from '../../src/delivery/connection-registry.service.js';
import { suiteServer } from '../support/suite-server.js';
import { waitUntil } from '../support/wait.js';

// A full collection on demand, without starting Node with --expose-gc: a new context gets `gc` once the flag is set.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

describe('closed sockets', () => {
  const suite = suiteServer('sqlite');

  it('are not kept by the gateway, not even the first socket the server ever had', async () => {
    const registry = suite.server.app.get(ConnectionRegistry);
    const first = await suite.connect('first');
    // The server's side of the socket: its Connection, which the ws socket refers to (and so outlives).
    const firstOnServer = weakly([...registry.all].find((connection) => connection.user?.id === 'first'));
    const second = await suite.connect('second');
    await first.close();
    // Nest remembers the latest socket to connect and the latest to close: here the second, for both.
    await second.close();
    await waitUntil(() => registry.all.size === 0);
    // A WeakRef's target is kept until the end of the job that made it.
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    expect(firstOnServer.deref()).toBeUndefined();
  });
});

function weakly(connection: Connection | undefined): WeakRef<Connection> {
  if (!connection) throw new Error('no connection on the server');
  return new WeakRef(connection);
}
