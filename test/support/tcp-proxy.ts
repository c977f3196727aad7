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
  /** Bytes held while hanging, in order, with where they go: none is lost, they flow on resume. */
  const held: Array<[Socket, Buffer]> = [];
  let holdRequests = false;
  let holdReplies = false;
  let cutting = false;
  // Forwarded by hand, not piped: a paused source that is piped resumes whenever its destination drains.
  const forward = (from: Socket, to: Socket, holding: () => boolean) =>
    from.on('data', (chunk: Buffer) => {
      if (holding()) held.push([to, chunk]);
      else to.write(chunk);
    });
  const server = createServer((client) => {
    if (cutting) return void client.destroy();
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    forward(client, upstream, () => holdRequests);
    forward(upstream, client, () => holdReplies);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: (server.address() as { port: number }).port,
        hang: () => {
          holdRequests = holdReplies = true;
        },
        hangReplies: () => {
          holdReplies = true;
        },
        cut: () => {
          cutting = true;
          for (const socket of sockets) socket.destroy();
        },
        resume: () => {
          holdRequests = holdReplies = cutting = false;
          for (const [to, chunk] of held.splice(0)) if (!to.destroyed) to.write(chunk);
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
