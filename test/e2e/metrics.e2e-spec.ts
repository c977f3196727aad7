import WebSocket from 'ws';
import { suiteServer } from '../support/suite-server.js';
import { waitUntil } from '../support/wait.js';

/** Reads one sample of the Prometheus text format, e.g. `switchboard_frames_in_total{event="ping"}`. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

async function scrape(baseUrl: string, token?: string): Promise<{ status: number; text: string; type: string | null }> {
  const response = await fetch(`${baseUrl}/metrics`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  return { status: response.status, text: await response.text(), type: response.headers.get('content-type') };
}

describe('Prometheus metrics at /metrics', () => {
  const suite = suiteServer('sqlite');

  it('counts sockets, frames by event, errors by code, refused upgrades, batches and delivery latency', async () => {
    const before = (await scrape(suite.server.httpUrl)).text;
    const alice = await suite.connect('metrics-alice');
    const bob = await suite.connect('metrics-bob');
    await bob.ok('room.join', { room: 'metered' });
    await alice.ok('message.send', { room: 'metered', text: 'hello', clientMsgId: 'm1' });
    await bob.next((f) => f.event === 'message');
    alice.sendRaw('not json');
    alice.sendRaw(JSON.stringify({ event: 'no.such.event', id: 'x' }));
    await alice.next((f) => f.event === 'error' && f.id === 'x');
    const refused = new WebSocket(suite.server.wsUrl);
    await new Promise((resolve) => refused.once('unexpected-response', resolve));

    const { status, text, type } = await scrape(suite.server.httpUrl);
    expect(status).toBe(200);
    expect(type).toContain('text/plain');
    const grew = (series: string) => sample(text, series) - sample(before, series);
    expect(sample(text, 'switchboard_sockets')).toBe(2);
    expect(grew('switchboard_frames_in_total{event="message.send"}')).toBe(1);
    expect(grew('switchboard_frames_in_total{event="room.join"}')).toBe(1);
    // Unknown names share one label: clients cannot add series.
    expect(grew('switchboard_frames_in_total{event="invalid"}')).toBe(2);
    expect(text).not.toContain('no.such.event');
    expect(grew('switchboard_frames_out_total{event="message.send"}')).toBe(1);
    expect(grew('switchboard_frames_out_total{event="message"}')).toBe(1);
    expect(grew('switchboard_errors_total{code="BAD_REQUEST"}')).toBe(2);
    expect(grew('switchboard_upgrades_rejected_total{status="401"}')).toBe(1);
    expect(grew('switchboard_db_batch_size_count')).toBe(1);
    expect(grew('switchboard_db_batch_size_sum')).toBe(1);
    expect(grew('switchboard_delivery_latency_seconds_count')).toBe(1);
    expect(sample(text, 'switchboard_process_resident_memory_bytes')).toBeGreaterThan(0);

    await alice.close();
    let sockets = 2;
    const poll = setInterval(() => void scrape(suite.server.httpUrl).then(({ text }) => (sockets = sample(text, 'switchboard_sockets'))), 20);
    try {
      await waitUntil(() => sockets === 1);
    } finally {
      clearInterval(poll);
    }
  });
});

describe('/metrics with METRICS_TOKEN', () => {
  const metricsToken = 'scraper-token-0123456789';
  const suite = suiteServer('sqlite', { METRICS_TOKEN: metricsToken });

  it('answers only the bearer of the token, and never names the token', async () => {
    const anonymous = await scrape(suite.server.httpUrl);
    expect(anonymous.status).toBe(401);
    expect(anonymous.text).not.toContain(metricsToken);
    expect((await scrape(suite.server.httpUrl, 'wrong-token')).status).toBe(401);
    expect((await scrape(suite.server.httpUrl, metricsToken)).status).toBe(200);
  });
});

describe('/metrics with METRICS_ENABLED=false', () => {
  const suite = suiteServer('sqlite', { METRICS_ENABLED: 'false' });

  it('is not served', async () => {
    expect((await scrape(suite.server.httpUrl)).status).toBe(404);
  });
});
