import { Global, Module } from '@nestjs/common';
import { RealtimeMetrics } from './realtime-metrics.js';

/** Counts what the module does; every capability records into the one RealtimeMetrics. */
@Global()
@Module({
  providers: [RealtimeMetrics],
  exports: [RealtimeMetrics],
})
export class MetricsModule {}
