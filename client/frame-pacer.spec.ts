import { FramePacer } from './frame-pacer.js';

describe('FramePacer', () => {
  it('writes a burst at once and the rest as the budget refills, in order', async () => {
    const written: string[] = [];
    const pacer = new FramePacer(200, 3, (frame) => written.push(frame));
    for (const frame of ['1', '2', '3', '4', '5']) pacer.send(frame);
    expect(written).toEqual(['1', '2', '3']);
    while (written.length < 5) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(written).toEqual(['1', '2', '3', '4', '5']);
  });

  it('refills at the sustained rate, never above the burst', () => {
    let now = 0;
    const written: string[] = [];
    const pacer = new FramePacer(10, 2, (frame) => written.push(frame), () => now);
    pacer.send('a');
    pacer.send('b');
    now = 60_000;
    for (const frame of ['c', 'd', 'e']) pacer.send(frame);
    expect(written).toEqual(['a', 'b', 'c', 'd']);
    pacer.reset();
  });

  it('drops what waits for a socket that closed, and starts the next one with a full budget', () => {
    const written: string[] = [];
    const pacer = new FramePacer(1, 1, (frame) => written.push(frame), () => 0);
    pacer.send('old 1');
    pacer.send('old 2');
    pacer.reset();
    pacer.send('new');
    expect(written).toEqual(['old 1', 'new']);
    pacer.reset();
  });

  it('skips a waiting frame no longer wanted when its turn comes, without spending the budget on it', () => {
    const written: string[] = [];
    let now = 0;
    const pacer = new FramePacer(1, 1, (frame) => written.push(frame), () => now);
    let wanted = true;
    pacer.send('first');
    pacer.send('timed out', () => wanted);
    pacer.send('next');
    wanted = false;
    now = 1000;
    pacer.send('last');
    expect(written).toEqual(['first', 'next']);
    pacer.reset();
  });
});
