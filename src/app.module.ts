import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { LoggerModule } from 'nestjs-pino';
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
export class AppModule {
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
          useFactory: (config: ConfigService) => {
            const settings = config.getOrThrow<ServerSettings>('server');
            return {
              pinoHttp: {
                level: settings.logLevel,
                // Tokens travel in headers, cookies and the query string: none of them reach a log line.
                redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["sec-websocket-protocol"]'],
                serializers: {
                  req: (request: { id: unknown; method: string; url: string }) => ({
                    id: request.id,
                    method: request.method,
                    url: redactTokenFromUrl(request.url),
                  }),
                },
                autoLogging: { ignore: (request: { url?: string }) => request.url?.startsWith('/health') ?? false },
              },
            };
          },
        }),
        EventEmitterModule.forRoot(),
        RealtimeModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService) => config.getOrThrow<ServerSettings>('server').realtime,
        }),
        HealthModule,
        ...(settings?.metrics.enabled ? [MetricsEndpointModule.register({ token: settings.metrics.token })] : []),
        ...(settings?.devTokens ? [DevTokensModule.register(settings.realtime.auth)] : []),
        ...(settings?.webUi
          ? [WebUiModule.register({ wsPath: settings.realtime.websocket?.path ?? '/ws', devTokens: settings.devTokens })]
          : []),
      ],
    };
  }
}
