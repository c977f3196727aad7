import { Module, RequestMethod, type DynamicModule, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { LoggerModule } from 'nestjs-pino';
import { pino } from 'pino';
import { pinoHttp, type Options as HttpLoggingOptions } from 'pino-http';
import { redactTokenFromUrl } from './auth/token-extraction.js';
import { loadServerSettings, type ServerSettings } from './config/server-settings.js';
import { DevTokensModule } from './dev-tokens/dev-tokens.module.js';
import { HealthModule } from './health/health.module.js';
import { MetricsEndpointModule } from './metrics/metrics-endpoint.module.js';
import { RealtimeModule } from './realtime.module.js';
import { WebUiModule } from './web-ui/web-ui.module.js';

/**
 * The runnable server: the realtime module inside a minimal host with
 * configuration, JSON logs, health checks, metrics and, in development, the
 * chat page and its sign-in by name. Without `variables` it reads
 * `.env` and the process environment; tests pass their own.
 */
@Module({})
export class AppModule implements NestModule {
  constructor(private readonly config: ConfigService) {}

  /** Rejects, naming each wrong variable, when the configuration is invalid. */
  static async register(variables?: Record<string, string | undefined>): Promise<DynamicModule> {
    let settings: ServerSettings | undefined;
    const config = await ConfigModule.forRoot({
      isGlobal: true,
      ...(variables ? { ignoreEnvFile: true, ignoreEnvVars: true } : {}),
      validate: (environment) => ({ server: (settings = loadServerSettings(variables ?? environment)) }),
    });
    return {
      module: AppModule,
      imports: [
        config,
        LoggerModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService) => ({
            pinoHttp: httpLogging(config.getOrThrow<ServerSettings>('server')),
            // nestjs-pino's own middleware binds each request's logger with AsyncLocalStorage,
            // which on Node 20 puts a hook on every promise of the process from the first
            // request on (about a tenth of the CPU of each WebSocket frame): requests are
            // logged by pino-http alone (see configure).
            forRoutes: [],
          }),
        }),
        EventEmitterModule.forRoot(),
        RealtimeModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService) => config.getOrThrow<ServerSettings>('server').realtime,
        }),
        HealthModule,
        ...(settings?.metrics.enabled ? [MetricsEndpointModule.register({ token: settings.metrics.token })] : []),
        ...(settings?.devTokens ? [DevTokensModule.register(settings.realtime.auth, settings.realtime.authorization?.bootstrapAdmins ?? [])] : []),
        ...(settings?.webUi
          ? [WebUiModule.register({ wsPath: settings.realtime.websocket?.path ?? '/ws', devTokens: settings.devTokens })]
          : []),
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(pinoHttp(httpLogging(this.config.getOrThrow<ServerSettings>('server')))).forRoutes({ path: '{/*splat}', method: RequestMethod.ALL });
  }
}

/** One logger for the application's and the requests' lines; built once per server. */
const httpLoggingOf = new WeakMap<ServerSettings, HttpLoggingOptions>();

function httpLogging(settings: ServerSettings): HttpLoggingOptions {
  let options = httpLoggingOf.get(settings);
  if (!options) {
    options = {
      logger: pino({
        level: settings.logLevel,
        // Tokens travel in headers, cookies and the query string: none of them reach a log line.
        redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["sec-websocket-protocol"]'],
      }),
      serializers: {
        req: (request: { id: unknown; method: string; url: string }) => ({
          id: request.id,
          method: request.method,
          url: redactTokenFromUrl(request.url),
        }),
      },
      autoLogging: { ignore: (request: { url?: string }) => request.url?.startsWith('/health') ?? false },
    };
    httpLoggingOf.set(settings, options);
  }
  return options;
}
