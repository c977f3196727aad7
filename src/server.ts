import { Logger as NestLogger, type INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, Server } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import type { ServerSettings } from './config/server-settings.js';
import { RealtimeWsAdapter } from './gateway/realtime-ws.adapter.js';
import { HttpErrorFilter } from './protocol/http-error.filter.js';

/** Builds the server (not yet listening): what `main.ts` runs and what the e2e tests start. */
export async function createServer(variables?: Record<string, string | undefined>): Promise<INestApplication> {
  // No forceCloseConnections: Node's server.close() ends idle keep-alive connections itself, the shutdown ends the
  // sockets, event streams and long polls, and tracking every connection cost each WebSocket a closure.
  const app = await NestFactory.create<NestExpressApplication>(await AppModule.register(variables), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  // The JSON parser would read bytes that are not UTF-8 as U+FFFD and store them so, acknowledged;
  // a WebSocket frame of such bytes is refused (BAD_REQUEST), and so is such a body.
  app.useBodyParser('json', { verify: refuseInvalidUtf8 });
  app.useWebSocketAdapter(new RealtimeWsAdapter(app));
  // Unknown routes and unparsable bodies answer in the same shape as the API's own errors.
  app.useGlobalFilters(new HttpErrorFilter());
  const settings = serverSettings(app);
  if (settings.devSecretFile) {
    new NestLogger('Switchboard').warn(
      `JWT_SECRET is not set: using the development secret in ${settings.devSecretFile} (refused when NODE_ENV=production)`,
    );
  }
  if (settings.devTokens) {
    new NestLogger('Switchboard').warn('DEV_TOKENS is on: POST /dev/token signs anyone in as any user they name (refused when NODE_ENV=production)');
  }
  if (settings.openApiDocs) {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Switchboard')
        .setDescription(
          'Admin, health and HTTP fallback (REST, Server-Sent Events, long poll) API. The WebSocket protocol is described as AsyncAPI 3.0 at [/asyncapi.json](/asyncapi.json) and in docs/protocol.md.',
        )
        .setVersion('1')
        .addBearerAuth()
        .build(),
    );
    SwaggerModule.setup('docs', app, document);
  }
  // Connections that trickle their request in (slowloris) hold a descriptor each: not for a minute, as Node's defaults allow.
  const http = app.getHttpServer() as Server;
  http.headersTimeout = HEADERS_TIMEOUT_MS;
  http.requestTimeout = REQUEST_TIMEOUT_MS;
  return app;
}

const HEADERS_TIMEOUT_MS = 10_000;
/** The request itself, not the response: event streams and long polls answer for longer. */
const REQUEST_TIMEOUT_MS = 30_000;

export function serverSettings(app: INestApplication): ServerSettings {
  return app.get(ConfigService).getOrThrow<ServerSettings>('server');
}

/** The body parser's `verify`: a JSON body must be UTF-8 (RFC 8259), or it is answered 400. */
function refuseInvalidUtf8(_request: IncomingMessage, _response: unknown, body: Buffer): void {
  if (!isUtf8(body)) throw Object.assign(new Error('the body is not valid UTF-8'), { status: 400, expose: true });
}
