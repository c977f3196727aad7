import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Module, type DynamicModule } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AuthOptions } from '../realtime-options.js';
import { DEV_TOKEN_AUTH, DevTokenController } from './dev-token.controller.js';

/** The development sign-in of the chat page; mounted by the server only with DEV_TOKENS=true. */
@Module({})
export class DevTokensModule {
  static register(auth: AuthOptions): DynamicModule {
    return { module: DevTokensModule, controllers: [DevTokenController], providers: [{ provide: DEV_TOKEN_AUTH, useValue: auth }] };
  }
}

/** The folder holding `name`, looking up from this file (src/ when run by the tests, dist/src/ when built). */
function findUp(name: string): string {
  for (let directory = dirname(fileURLToPath(import.meta.url)); ; directory = dirname(directory)) {
    if (existsSync(join(directory, name))) return join(directory, name);
    if (dirname(directory) === directory) throw new Error(`${name} not found: build the project first (npm run build)`);
  }
}

/**
 * Serves the chat page (`web/`) at `/` and the compiled client SDK at
 * `/client/`: ES modules a browser loads as they are, no bundler.
 */
export function serveWebUi(app: NestExpressApplication): void {
  app.useStaticAssets(findUp('web'), { index: 'index.html' });
  app.useStaticAssets(dirname(findUp('dist/client/index.js')), { prefix: '/client/' });
}
