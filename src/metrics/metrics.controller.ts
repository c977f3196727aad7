import { createHash, timingSafeEqual } from 'node:crypto';
import { Controller, Get, Header, Headers, Inject, UnauthorizedException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Registry } from 'prom-client';
import { RealtimeMetrics } from './realtime-metrics.js';

export const METRICS_TOKEN = Symbol('realtime.metricsToken');

/** Prometheus scrapes this; the server mounts it (MetricsEndpointModule), a host may too. */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  private readonly expected: Buffer | null;

  constructor(
    private readonly metrics: RealtimeMetrics,
    @Inject(METRICS_TOKEN) token: string | null,
  ) {
    this.expected = token ? digest(token) : null;
  }

  @Get()
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  scrape(@Headers('authorization') authorization?: string): Promise<string> {
    if (this.expected) {
      const offered = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1];
      // Compared as digests: equal lengths, and no timing hint about the token.
      if (!offered || !timingSafeEqual(digest(offered), this.expected)) throw new UnauthorizedException('a valid metrics token is required');
    }
    return this.metrics.registry.metrics();
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest();
