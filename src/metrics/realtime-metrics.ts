import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The module's Prometheus metrics, in a registry of its own: the server
 * serves it at /metrics, and a host with its own registry can merge it
 * (`Registry.merge([hostRegistry, metrics.registry])`).
 */
@Injectable()
export class RealtimeMetrics {
  readonly registry = new Registry();

  readonly sockets = new Gauge({
    name: 'switchboard_sockets',
    help: 'Open WebSocket connections on this node',
    registers: [this.registry],
  });

  private readonly framesIn = new Counter({
    name: 'switchboard_frames_in_total',
    help: 'Frames received, by event (frames that are not a known event count as "invalid")',
    labelNames: ['event'],
    registers: [this.registry],
  });

  private readonly framesOut = new Counter({
    name: 'switchboard_frames_out_total',
    help: 'Frames sent, by event (replies, pushes and replayed messages)',
    labelNames: ['event'],
    registers: [this.registry],
  });

  private readonly errors = new Counter({
    name: 'switchboard_errors_total',
    help: 'Error frames sent, by code',
    labelNames: ['code'],
    registers: [this.registry],
  });

  private readonly upgradesRejected = new Counter({
    name: 'switchboard_upgrades_rejected_total',
    help: 'WebSocket upgrades refused, by HTTP status',
    labelNames: ['status'],
    registers: [this.registry],
  });

  readonly deliveryLatency = new Histogram({
    name: 'switchboard_delivery_latency_seconds',
    help: 'From a message being stored to its push being written to the sockets of this node',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly batchSize = new Histogram({
    name: 'switchboard_db_batch_size',
    help: 'Messages stored per database transaction (group commit)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });

  readonly batchSeconds = new Histogram({
    name: 'switchboard_db_batch_seconds',
    help: 'Time to store one batch of messages, commit included',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });

  // Label children are looked up once per value: these counters sit on the path of every frame.
  private readonly framesInBy = children(this.framesIn);
  private readonly framesOutBy = children(this.framesOut);
  private readonly errorsBy = children(this.errors);
  private readonly upgradesRejectedBy = children(this.upgradesRejected);

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'switchboard_' });
  }

  frameIn(event: string): void {
    this.framesInBy(event).inc();
  }

  frameOut(event: string, count = 1): void {
    this.framesOutBy(event).inc(count);
  }

  error(code: string): void {
    this.errorsBy(code).inc();
    this.framesOutBy('error').inc();
  }

  upgradeRejected(status: number): void {
    this.upgradesRejectedBy(String(status)).inc();
  }

  /** Observes, once per message and node, how long after `sentAt` (ms since the epoch) it reached the sockets. */
  delivered(sentAtMs: number): void {
    this.deliveryLatency.observe(Math.max(0, Date.now() - sentAtMs) / 1000);
  }
}

function children(counter: Counter<string>): (label: string) => { inc(value?: number): void } {
  const cache = new Map<string, { inc(value?: number): void }>();
  return (label) => {
    let child = cache.get(label);
    if (!child) cache.set(label, (child = counter.labels(label)));
    return child;
  };
}
