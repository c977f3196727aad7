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

  // On the path of every frame: see tally().
  private readonly framesIn = tally(this.registry, {
    name: 'switchboard_frames_in_total',
    help: 'Frames received, by event (frames that are not a known event count as "invalid")',
    labelName: 'event',
  });

  private readonly framesOut = tally(this.registry, {
    name: 'switchboard_frames_out_total',
    help: 'Frames sent, by event (replies, pushes and replayed messages)',
    labelName: 'event',
  });

  private readonly errors = tally(this.registry, {
    name: 'switchboard_errors_total',
    help: 'Error frames sent, by code',
    labelName: 'code',
  });

  private readonly upgradesRejected = tally(this.registry, {
    name: 'switchboard_upgrades_rejected_total',
    help: 'WebSocket upgrades refused, by HTTP status',
    labelName: 'status',
  });

  readonly deliveryLatency = new Histogram({
    name: 'switchboard_delivery_latency_seconds',
    help: 'From a message being stored to its push being written to the sockets of this node',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly batchSize = new Histogram({
    name: 'switchboard_db_batch_size',
    help: 'Messages per committed database transaction (group commit): its count is the commits, each synced to disk on SQLite with synchronous=FULL',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });

  readonly batchSeconds = new Histogram({
    name: 'switchboard_db_batch_seconds',
    help: 'Time to store one batch of messages, commit included',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'switchboard_' });
  }

  frameIn(event: string): void {
    this.framesIn(event);
  }

  frameOut(event: string, count = 1): void {
    this.framesOut(event, count);
  }

  error(code: string): void {
    this.errors(code);
    this.framesOut('error');
  }

  upgradeRejected(status: number): void {
    this.upgradesRejected(String(status));
  }

  /** Observes, once per message and node, how long after `sentAt` (ms since the epoch) it reached the sockets. */
  delivered(sentAtMs: number): void {
    this.deliveryLatency.observe(Math.max(0, Date.now() - sentAtMs) / 1000);
  }
}

/**
 * A counter with one label, counted here and added to the prom-client counter
 * when the registry is read: prom-client builds a key string from the labels
 * on every `inc`, a new string per frame.
 */
function tally(registry: Registry, { name, help, labelName }: { name: string; help: string; labelName: string }): (label: string, count?: number) => void {
  const pending = new Map<string, { count: number }>();
  const counter = new Counter({
    name,
    help,
    labelNames: [labelName],
    registers: [registry],
    collect() {
      for (const [label, counted] of pending) {
        if (counted.count === 0) continue;
        this.inc({ [labelName]: label }, counted.count);
        counted.count = 0;
      }
    },
  });
  // A host resetting the registry (`registry.resetMetrics()`) resets what is counted here too.
  const reset = counter.reset.bind(counter);
  counter.reset = () => {
    pending.clear();
    reset();
  };
  return (label, count = 1) => {
    let counted = pending.get(label);
    if (!counted) pending.set(label, (counted = { count: 0 }));
    counted.count += count;
  };
}
