import { RealtimeMetrics } from './realtime-metrics.js';

const framesIn = async (metrics: RealtimeMetrics) => (await metrics.registry.getSingleMetricAsString('switchboard_frames_in_total')).split('\n').filter((line) => !line.startsWith('#'));

describe('RealtimeMetrics', () => {
  it('counts frames by event, adding the tallies when the registry is read', async () => {
    const metrics = new RealtimeMetrics();
    metrics.frameIn('message.send');
    metrics.frameIn('message.send');
    metrics.frameIn('ping');
    expect(await framesIn(metrics)).toEqual(['switchboard_frames_in_total{event="message.send"} 2', 'switchboard_frames_in_total{event="ping"} 1']);
    metrics.frameIn('ping');
    expect(await framesIn(metrics)).toEqual(['switchboard_frames_in_total{event="message.send"} 2', 'switchboard_frames_in_total{event="ping"} 2']);
  });

  it('forgets the counts not yet read when the registry is reset', async () => {
    const metrics = new RealtimeMetrics();
    metrics.frameIn('message.send');
    await framesIn(metrics);
    metrics.frameIn('message.send');
    metrics.registry.resetMetrics();
    expect(await framesIn(metrics)).toEqual([]);
    metrics.frameIn('ping');
    expect(await framesIn(metrics)).toEqual(['switchboard_frames_in_total{event="ping"} 1']);
  });
});
