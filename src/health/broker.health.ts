import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { Broker } from '../broker/broker.js';
import { READINESS_ANSWER_FRESH_FOR_MS, READINESS_PING_LOST_AFTER_MS, SharedProbe } from './shared-probe.js';

/**
 * In a cluster: whether this node is in touch with the others through Redis (always up on a single node).
 * One Redis PING at a time for all readiness requests: a flood of them must not queue in front of presence commands.
 */
@Injectable()
export class BrokerHealthIndicator {
  private readonly ping: SharedProbe<boolean>;

  constructor(
    private readonly indicators: HealthIndicatorService,
    broker: Broker,
  ) {
    this.ping = new SharedProbe(() => broker.inTouch(), READINESS_ANSWER_FRESH_FOR_MS, READINESS_PING_LOST_AFTER_MS);
  }

  /** `timeoutMs`: the commands connection's own timeout ends a hanging PING too; this bounds the wait whatever it is. */
  async check(key: string, timeoutMs: number): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    const outcome = await this.ping.runWithin(timeoutMs);
    return outcome?.ok && outcome.value ? indicator.up() : indicator.down({ message: 'the other nodes are out of reach (Redis)' });
  }
}
