import { Module, type DynamicModule } from '@nestjs/common';
import { METRICS_TOKEN, MetricsController } from './metrics.controller.js';

/** `GET /metrics` for Prometheus, optionally behind a bearer token; the metrics themselves come with RealtimeModule. */
@Module({})
export class MetricsEndpointModule {
  static register(options: { token?: string } = {}): DynamicModule {
    return {
      module: MetricsEndpointModule,
      controllers: [MetricsController],
      providers: [{ provide: METRICS_TOKEN, useValue: options.token ?? null }],
    };
  }
}
