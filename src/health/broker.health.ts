import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { Broker } from '../broker/broker.js';

/** In a cluster: whether this node is in touch with the others through Redis (always up on a single node). */
@Injectable()
export class BrokerHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly broker: Broker,
  ) {}

  async check(key: string): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    return (await this.broker.inTouch()) ? indicator.up() : indicator.down({ message: 'the other nodes are out of reach (Redis)' });
  }
}
