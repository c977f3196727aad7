import { Module, type DynamicModule } from '@nestjs/common';
import type { AuthOptions } from '../realtime-options.js';
import { DevTokensController } from './dev-tokens.controller.js';
import { DEV_TOKENS_AUTH, DEV_TOKENS_REFUSED, DevTokensService } from './dev-tokens.service.js';

/**
 * `POST /dev/token`: sign in by name, for the chat page and local tries.
 * The server imports it only when DEV_TOKENS is on (never in production), so
 * that otherwise the route does not exist.
 */
@Module({})
export class DevTokensModule {
  static register(auth: AuthOptions, bootstrapAdmins: readonly string[]): DynamicModule {
    return {
      module: DevTokensModule,
      controllers: [DevTokensController],
      providers: [
        DevTokensService,
        { provide: DEV_TOKENS_AUTH, useValue: auth },
        { provide: DEV_TOKENS_REFUSED, useValue: new Set(bootstrapAdmins) },
      ],
    };
  }
}
