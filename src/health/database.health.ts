import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { REALTIME_CONNECTION } from '../database/data-source-options.js';
import { READINESS_ANSWER_FRESH_FOR_MS, READINESS_PING_LOST_AFTER_MS, SharedProbe } from './shared-probe.js';

/**
 * The module's database answers a trivial query in time (works the same on SQLite and PostgreSQL).
 * One query at a time for all readiness requests: a flood of them must not take the pool from message batches.
 */
@Injectable()
export class DatabaseHealthIndicator {
  private readonly ping: SharedProbe<unknown>;

  constructor(
    private readonly indicators: HealthIndicatorService,
    @InjectDataSource(REALTIME_CONNECTION) dataSource: DataSource,
  ) {
    this.ping = new SharedProbe(() => dataSource.query('SELECT 1'), READINESS_ANSWER_FRESH_FOR_MS, READINESS_PING_LOST_AFTER_MS);
  }

  async check(key: string, timeoutMs: number): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    const outcome = await this.ping.runWithin(timeoutMs);
    // Judged by the ping's own time, not this request's wait: a request that joined a slow ping late, or got its answer
    // from the freshness window, answers as the ping's first request did.
    if (!outcome || outcome.durationMs > timeoutMs) return indicator.down({ message: `no answer within ${timeoutMs} ms` });
    if (!outcome.ok) return indicator.down({ message: outcome.error.message });
    return indicator.up({ responseTime: outcome.durationMs });
  }
}
