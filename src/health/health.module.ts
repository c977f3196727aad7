import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { BrokerHealthIndicator } from './broker.health.js';
import { DatabaseHealthIndicator } from './database.health.js';
import { HealthController } from './health.controller.js';

/**
 * The module's readiness checks, for a host's own health routes:
 * `database.check('realtime-database', 2000)`, `broker.check('realtime-broker', 2000)`
 * (the broker is always up on a single node).
 */
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  providers: [DatabaseHealthIndicator, BrokerHealthIndicator],
  exports: [DatabaseHealthIndicator, BrokerHealthIndicator],
})
export class RealtimeHealthIndicatorsModule {}

/** `/health/live` and `/health/ready` for load balancers and orchestrators. */
@Module({
  imports: [TerminusModule.forRoot({ logger: false }), RealtimeHealthIndicatorsModule],
  controllers: [HealthController],
})
export class HealthModule {}
