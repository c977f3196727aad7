import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { BrokerHealthIndicator } from './broker.health.js';
import { DatabaseHealthIndicator } from './database.health.js';

/** How long a readiness request waits for each dependency's answer. */
const READINESS_WAIT_MS = 2000;

@Controller('health')
@ApiTags('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
    private readonly broker: BrokerHealthIndicator,
  ) {}

  /** The process is up and serving HTTP. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /** The node can serve: its database answers and, in a cluster, it reaches the other nodes. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.database.check('database', READINESS_WAIT_MS), () => this.broker.check('broker', READINESS_WAIT_MS)]);
  }
}
