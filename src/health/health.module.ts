import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { BrokerHealthIndicator } from './broker.health.js';
import { DatabaseHealthIndicator } from './database.health.js';
import { HealthController } from './health.controller.js';

/** `/health/live` and `/health/ready` for load balancers and orchestrators. */
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [DatabaseHealthIndicator, BrokerHealthIndicator],
})
export class HealthModule {}
