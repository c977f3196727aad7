import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createServer, serverSettings } from './server.js';

async function main(): Promise<void> {
  const app = await createServer();
  app.enableShutdownHooks();
  const { port, host } = serverSettings(app);
  await app.listen(port, host);
  new Logger('Switchboard').log(`listening on http://${host}:${port} (WebSocket ${serverSettings(app).realtime.websocket?.path ?? '/ws'}, docs /docs)`);
}

main().catch((error: Error) => {
  // Configuration errors name the variable; nothing here prints a secret.
  console.error(`switchboard failed to start: ${error.message}`);
  process.exit(1);
});
