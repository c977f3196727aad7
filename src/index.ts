/** The public API of the module, for host apps. */
export { RealtimeModule, type RealtimeModuleAsyncOptions, type RealtimeModuleExtras, type RealtimeOptionsFactory } from './realtime.module.js';
export type {
  RealtimeModuleOptions,
  DatabaseOptions,
  AuthOptions,
  AuthorizationOptions,
  WebSocketOptions,
  AdminOptions,
  ClusterOptions,
  JwtAlgorithm,
} from './realtime-options.js';
export { RealtimeWsAdapter } from './gateway/realtime-ws.adapter.js';
export { HttpErrorFilter } from './protocol/http-error.filter.js';
export { RealtimePublisher, type PublishOptions } from './messages/realtime-publisher.service.js';
export { UserResolver } from './auth/user-resolver.js';
export type { AuthenticatedUser, TokenClaims } from './auth/authenticated-user.js';
export { realtimeEntities, realtimeMigrations } from './database/realtime-schema.js';
export { REALTIME_CONNECTION } from './database/data-source-options.js';
export { RealtimeEvents } from './events/realtime-events.js';
export type * from './events/realtime-events.js';
export { Permission, PERMISSION_CATALOGUE } from './authorization/permissions.js';
export * from './protocol/index.js';
export { RealtimeMetrics } from './metrics/realtime-metrics.js';
export { MetricsEndpointModule } from './metrics/metrics-endpoint.module.js';
export { HealthModule, RealtimeHealthIndicatorsModule } from './health/health.module.js';
export { DatabaseHealthIndicator } from './health/database.health.js';
export { BrokerHealthIndicator } from './health/broker.health.js';
