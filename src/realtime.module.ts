import { Global, Module, type DynamicModule, type ModuleMetadata, type Provider, type Type } from '@nestjs/common';
import { AdminModule } from './admin/admin.module.js';
import { AsyncApiModule } from './asyncapi/asyncapi.module.js';
import { AuthModule } from './auth/auth.module.js';
import { ClaimsUserResolver, UserResolver } from './auth/user-resolver.js';
import { AuthorizationModule } from './authorization/authorization.module.js';
import { BrokerModule } from './broker/broker.module.js';
import { DatabaseModule } from './database/database.module.js';
import { DeliveryModule } from './delivery/delivery.module.js';
import { EventsModule } from './events/events.module.js';
import { FallbackModule } from './fallback/fallback.module.js';
import { GatewayModule } from './gateway/gateway.module.js';
import { MessagesModule } from './messages/messages.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { PresenceModule } from './presence/presence.module.js';
import { REALTIME_OPTIONS, resolveOptions, type RealtimeModuleOptions } from './realtime-options.js';
import { RoomsModule } from './rooms/rooms.module.js';

export interface RealtimeModuleExtras extends Pick<ModuleMetadata, 'imports'> {
  /**
   * Replaces how a verified token becomes a user (see `UserResolver`). It is
   * created inside the module: the modules that provide what it injects go
   * in `imports` (with `forRootAsync`, the factory's `inject` comes from them too).
   */
  userResolver?: Type<UserResolver>;
}

export interface RealtimeModuleAsyncOptions extends RealtimeModuleExtras {
  useFactory: (...args: any[]) => RealtimeModuleOptions | Promise<RealtimeModuleOptions>;
  inject?: any[];
}

/** Options and the user resolver, visible to every module of the feature. */
@Global()
@Module({})
class RealtimeCoreModule {}

/**
 * Authenticated, authorized, persisted realtime messaging for a Nest app:
 *
 *   RealtimeModule.forRoot({ database: { type: 'sqlite', path: 'data/chat.sqlite' }, auth: { secret } })
 *
 * and, in main.ts, `app.useWebSocketAdapter(new RealtimeWsAdapter(app))`.
 */
@Module({})
export class RealtimeModule {
  static forRoot(options: RealtimeModuleOptions & RealtimeModuleExtras): DynamicModule {
    const { imports, userResolver, ...settings } = options;
    return this.assemble({ provide: REALTIME_OPTIONS, useValue: resolveOptions(settings) }, imports ?? [], { userResolver });
  }

  static forRootAsync(options: RealtimeModuleAsyncOptions): DynamicModule {
    return this.assemble(
      {
        provide: REALTIME_OPTIONS,
        inject: options.inject ?? [],
        useFactory: async (...args: unknown[]) => resolveOptions(await options.useFactory(...args)),
      },
      options.imports ?? [],
      options,
    );
  }

  private static assemble(optionsProvider: Provider, imports: ModuleMetadata['imports'], extras: RealtimeModuleExtras): DynamicModule {
    const core: DynamicModule = {
      module: RealtimeCoreModule,
      imports,
      providers: [optionsProvider, { provide: UserResolver, useClass: extras.userResolver ?? ClaimsUserResolver }],
      exports: [REALTIME_OPTIONS, UserResolver],
    };
    return {
      module: RealtimeModule,
      // RealtimePublisher and the guards are injectable in every module of the host.
      global: true,
      imports: [
        core,
        MetricsModule,
        DatabaseModule,
        BrokerModule,
        EventsModule,
        AuthModule,
        AuthorizationModule,
        RoomsModule,
        MessagesModule,
        DeliveryModule,
        PresenceModule,
        GatewayModule,
        FallbackModule,
        AdminModule,
        AsyncApiModule,
      ],
      exports: [MessagesModule, AuthModule, AuthorizationModule, DeliveryModule, MetricsModule],
    };
  }
}
