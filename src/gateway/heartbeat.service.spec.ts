import { jest } from '@jest/globals';
import type { ConnectionRegistry } from '../delivery/connection-registry.service.js';
import { Connection } from '../delivery/connection.js';
import type { Transport } from '../delivery/transport.js';
import type { ResolvedRealtimeOptions } from '../realtime-options.js';
import { HeartbeatService } from './heartbeat.service.js';

/** Counts the pings a connection sends; a terminated one leaves the registry, as the gateway's close handler does. */
class CountingTransport implements Transport {
  isOpen = true;
  bufferedAmount = 0;
  pings = 0;
  constructor(private readonly onTerminate: () => void) {}
  send(): void {}
  close(): void {}
  terminate(): void {
    this.isOpen = false;
    this.onTerminate();
  }
  ping(): void {
    this.pings++;
  }
  attach(): void {}
  onClose(): void {}
}

const INTERVAL_MS = 25_000;

function setup(count: number, pingIntervalMs = INTERVAL_MS) {
  const all = new Set<Connection>();
  const transports = new Map<Connection, CountingTransport>();
  const open = () => {
    let connection: Connection;
    const transport = new CountingTransport(() => all.delete(connection));
    connection = new Connection(`c${all.size}`, transport, null, 1 << 20);
    all.add(connection);
    transports.set(connection, transport);
    return connection;
  };
  for (let i = 0; i < count; i++) open();
  const options = { websocket: { pingIntervalMs } } as ResolvedRealtimeOptions;
  const heartbeat = new HeartbeatService({ all } as ConnectionRegistry, options);
  const pings = () => [...transports.values()].map((transport) => transport.pings);
  const totalPings = () => pings().reduce((sum, n) => sum + n, 0);
  return { all, heartbeat, open, pings, totalPings, transports };
}

describe('HeartbeatService', () => {
  it('pings each socket once per interval, an equal share of them at each tick', () => {
    const { heartbeat, pings, totalPings } = setup(1000);
    expect(heartbeat.slots).toBe(100);
    const perTick: number[] = [];
    for (let tick = 0; tick < heartbeat.slots; tick++) {
      const before = totalPings();
      heartbeat.beat();
      perTick.push(totalPings() - before);
    }
    expect(new Set(perTick)).toEqual(new Set([10]));
    expect(new Set(pings())).toEqual(new Set([1]));
  });

  it('pings each socket at the same tick of every interval', () => {
    const { heartbeat, transports } = setup(250);
    const firstPingAt = new Map<Connection, number>();
    for (let tick = 0; tick < 3 * heartbeat.slots; tick++) {
      const before = new Map([...transports].map(([connection, transport]) => [connection, transport.pings]));
      heartbeat.beat();
      for (const [connection, transport] of transports) {
        if (transport.pings === before.get(connection)) continue;
        if (!firstPingAt.has(connection)) firstPingAt.set(connection, tick);
        expect((tick - firstPingAt.get(connection)!) % heartbeat.slots).toBe(0);
      }
    }
    expect(firstPingAt.size).toBe(250);
  });

  it('deals a socket that came later to a tick, and pings it within one interval', () => {
    const { heartbeat, open, transports } = setup(10);
    for (let tick = 0; tick < 37; tick++) heartbeat.beat();
    const late = open();
    for (let tick = 0; tick < heartbeat.slots; tick++) heartbeat.beat();
    expect(transports.get(late)!.pings).toBe(1);
  });

  it('terminates a socket that left two pings unanswered, at its third tick, and spares one that answered', () => {
    const { all, heartbeat, transports } = setup(2);
    const [silent, answering] = [...all];
    for (let interval = 0; interval < 2; interval++) {
      for (let tick = 0; tick < heartbeat.slots; tick++) heartbeat.beat();
      answering.pongReceived();
    }
    expect(all.has(silent)).toBe(true);
    for (let tick = 0; tick < heartbeat.slots; tick++) heartbeat.beat();
    expect(all.has(silent)).toBe(false);
    expect(transports.get(silent)!.pings).toBe(2);
    expect(all.has(answering)).toBe(true);
    expect(transports.get(answering)!.pings).toBe(3);
  });

  describe('its timer', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('ticks so that every socket is pinged once in each interval', () => {
      const { heartbeat, pings } = setup(500);
      heartbeat.onApplicationBootstrap();
      jest.advanceTimersByTime(INTERVAL_MS - 1);
      // The last tick of the interval falls on its end.
      expect(pings().filter((n) => n === 0)).toHaveLength(5);
      jest.advanceTimersByTime(1);
      expect(new Set(pings())).toEqual(new Set([1]));
      heartbeat.onApplicationShutdown();
      expect(jest.getTimerCount()).toBe(0);
    });

    it('with a short interval, pings them all at each interval', () => {
      const { heartbeat, pings } = setup(3, 150);
      expect(heartbeat.slots).toBe(1);
      heartbeat.onApplicationBootstrap();
      jest.advanceTimersByTime(149);
      expect(pings()).toEqual([0, 0, 0]);
      jest.advanceTimersByTime(1);
      expect(pings()).toEqual([1, 1, 1]);
      heartbeat.onApplicationShutdown();
    });
  });
});
