import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Inject, Logger, Module, type DynamicModule, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ExpressAdapter } from '@nestjs/platform-express';
import { WEB_UI_SETTINGS, WebUiController, type WebUiSettings } from './web-ui.controller.js';

/** The page's files; the CSP keeps chat content from ever running as script. */
const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
};

/**
 * The chat page: `web/` at `/` and the compiled client SDK (`dist/client`)
 * at `/client/`, as plain ES modules a browser loads without a bundler; and
 * `GET /web-ui/settings` for the page. Mounted when WEB_UI is on.
 *
 * The files are registered at module init, after Nest's routes: the API
 * always wins over a file of the same name, and API requests never touch
 * the disk.
 */
@Module({})
export class WebUiModule implements OnModuleInit {
  private readonly logger = new Logger('WebUi');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(WEB_UI_SETTINGS) private readonly settings: WebUiSettings,
  ) {}

  static register(settings: WebUiSettings): DynamicModule {
    return {
      module: WebUiModule,
      controllers: [WebUiController],
      providers: [{ provide: WEB_UI_SETTINGS, useValue: settings }],
    };
  }

  onModuleInit(): void {
    const root = packageRoot();
    const clientFolder = join(root, 'dist', 'client');
    if (!existsSync(join(clientFolder, 'index.js'))) {
      this.logger.warn(`the chat page needs the compiled client SDK in ${clientFolder}: run npm run build`);
    }
    const adapter = this.adapterHost.httpAdapter as ExpressAdapter;
    const setHeaders = (response: { setHeader(name: string, value: string): void }) => {
      for (const [name, value] of Object.entries(PAGE_HEADERS)) response.setHeader(name, value);
    };
    adapter.useStaticAssets(join(root, 'web'), { setHeaders });
    adapter.useStaticAssets(clientFolder, { prefix: '/client/', setHeaders });
    this.logger.log(`chat page at / (development tokens ${this.settings.devTokens ? 'on' : 'off'})`);
  }
}

/** The folder with package.json: two levels above this file in src/, three in dist/src/. */
function packageRoot(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(folder, 'package.json'))) {
    const parent = dirname(folder);
    if (parent === folder) throw new Error('the web UI cannot find the package folder (package.json)');
    folder = parent;
  }
  return folder;
}
