import { connect, createServer, type Socket } from 'node:net';

/**
 * A loopback TCP proxy that can hang: bytes stop flowing both ways while
 * connections stay open, like a database host that froze or a network that
 * drops everything silently. Or it can cut: connections are reset and new ones
 * refused, like a host that lost its route to the server.
 */
export interface TcpProxy {
  port: number;
  hang(): void;
  /** Requests still reach the target, its answers stop on the way back (a reply lost after the work was done). */
  hangReplies(): void;
  cut(): void;
  /** Ends a hang or a cut. */
  resume(): void;
  close(): Promise<void>;
}

export function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const upstreams = new Set<Socket>();
  let hanging = false;
  let cutting = false;
  const server = createServer((client) => {
    if (cutting) return void client.destroy();
    const upstream = connect(targetPort, '127.0.0.1');
    upstreams.add(upstream);
    upstream.on('close', () => upstreams.delete(upstream));
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream);
    upstream.pipe(client);
    // After pipe(), which resumes its source: a connection opened while hanging hangs too.
    if (hanging) for (const socket of [client, upstream]) socket.pause();
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: (server.address() as { port: number }).port,
        hang: () => {
          hanging = true;
          for (const socket of sockets) socket.pause();
        },
        hangReplies: () => {
          for (const socket of upstreams) socket.pause();
        },
        cut: () => {
          cutting = true;
          for (const socket of sockets) socket.destroy();
        },
        resume: () => {
          hanging = false;
          cutting = false;
          for (const socket of sockets) socket.resume();
        },
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
