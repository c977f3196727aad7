import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createServer, serverSettings } from './server.js';

async function main(): Promise<void> {
  const app = await createServer();
  const { port, host, realtime } = serverSettings(app);
  await app.listen(port, host);
  const logger = new Logger('Switchboard');
  logger.log(`listening on http://${host}:${port} (WebSocket ${realtime.websocket?.path ?? '/ws'}, docs /docs)`);

  // SIGTERM: stop taking sockets, answer what is in progress, store what was accepted,
  // close sockets with 1012, exit 0; a shutdown that hangs past its bound exits 1.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal} received: shutting down`);
    const bound = (realtime.websocket?.shutdownTimeoutMs ?? 10_000) + 5000;
    setTimeout(() => {
      console.error(`switchboard: shutdown did not finish within ${bound} ms`);
      process.exit(1);
    }, bound).unref();
    try {
      await app.close();
      process.exit(0);
    } catch (error) {
      console.error(`switchboard: shutdown failed: ${(error as Error).message}`);
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: Error) => {
  // Configuration errors name the variable; nothing here prints a secret.
  console.error(`switchboard failed to start: ${error.message}`);
  process.exit(1);
});
