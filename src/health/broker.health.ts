import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { Broker } from '../broker/broker.js';
import { READINESS_ANSWER_FRESH_FOR_MS, SharedProbe } from './shared-probe.js';

/**
 * In a cluster: whether this node is in touch with the others through Redis (always up on a single node).
 * One Redis PING at a time for all readiness requests: a flood of them must not queue in front of presence commands.
 * A hanging PING fails after the commands connection's timeout (2 s), which bounds every request's wait.
 */
@Injectable()
export class BrokerHealthIndicator {
  private readonly ping: SharedProbe<boolean>;

  constructor(
    private readonly indicators: HealthIndicatorService,
    broker: Broker,
  ) {
    this.ping = new SharedProbe(() => broker.inTouch(), READINESS_ANSWER_FRESH_FOR_MS);
  }

  async check(key: string): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    const outcome = await this.ping.run();
    return outcome.ok && outcome.value ? indicator.up() : indicator.down({ message: 'the other nodes are out of reach (Redis)' });
  }
}
