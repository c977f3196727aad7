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

/** A class that makes the module's options, for `forRootAsync({ useClass })` or `({ useExisting })`. */
export interface RealtimeOptionsFactory {
  createRealtimeOptions(): RealtimeModuleOptions | Promise<RealtimeModuleOptions>;
}

/** The options made at start-up: by a factory function, or by a RealtimeOptionsFactory the module creates (`useClass`) or the host provides (`useExisting`, from `imports`). */
export type RealtimeModuleAsyncOptions = RealtimeModuleExtras &
  (
    | { useFactory: (...args: any[]) => RealtimeModuleOptions | Promise<RealtimeModuleOptions>; inject?: any[] }
    | { useClass: Type<RealtimeOptionsFactory> }
    | { useExisting: Type<RealtimeOptionsFactory> }
  );

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
    return this.assemble([{ provide: REALTIME_OPTIONS, useValue: resolveOptions(settings) }], imports ?? [], { userResolver });
  }

  static forRootAsync(options: RealtimeModuleAsyncOptions): DynamicModule {
    if ('useFactory' in options) {
      const { useFactory, inject = [] } = options;
      const optionsProvider = { provide: REALTIME_OPTIONS, inject, useFactory: async (...args: unknown[]) => resolveOptions(await useFactory(...args)) };
      return this.assemble([optionsProvider], options.imports ?? [], options);
    }
    const factoryClass = 'useClass' in options ? options.useClass : options.useExisting;
    if (typeof factoryClass !== 'function') throw new Error('RealtimeModule.forRootAsync needs useFactory, useClass or useExisting');
    const optionsProvider = {
      provide: REALTIME_OPTIONS,
      inject: [factoryClass],
      useFactory: async (factory: RealtimeOptionsFactory) => resolveOptions(await factory.createRealtimeOptions()),
    };
    // useExisting: the host's own instance, provided by one of `imports`.
    const created: Provider[] = 'useClass' in options ? [options.useClass] : [];
    return this.assemble([optionsProvider, ...created], options.imports ?? [], options);
  }

  private static assemble(optionsProviders: Provider[], imports: ModuleMetadata['imports'], extras: RealtimeModuleExtras): DynamicModule {
    const core: DynamicModule = {
      module: RealtimeCoreModule,
      imports,
      providers: [...optionsProviders, { provide: UserResolver, useClass: extras.userResolver ?? ClaimsUserResolver }],
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
