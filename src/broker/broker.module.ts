import { Global, Logger, Module } from '@nestjs/common';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';
import { Broker } from './broker.js';
import { LocalBroker } from './local-broker.js';
import { RedisBroker } from './redis-broker.js';
import { RedisConnections } from './redis-connections.js';

/**
 * The broker of this node: in-process alone, Redis in a cluster (the
 * `cluster` option). `RedisConnections` is null on a single node.
 */
@Global()
@Module({
  providers: [
    {
      provide: RedisConnections,
      inject: [REALTIME_OPTIONS],
      useFactory: ({ cluster }: ResolvedRealtimeOptions) => (cluster ? new RedisConnections(cluster) : null),
    },
    {
      provide: Broker,
      inject: [RedisConnections],
      useFactory: (redis: RedisConnections | null) => {
        if (!redis) return new LocalBroker();
        new Logger('RealtimeBroker').log(`clustered through Redis as node ${redis.nodeId}`);
        return new RedisBroker(redis);
      },
    },
  ],
  exports: [Broker, RedisConnections],
})
export class BrokerModule {}
