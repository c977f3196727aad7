import { createRequire } from 'node:module';

/**
 * RealtimeWsAdapter builds the gateway's server with the `ws` this module
 * resolves, not the stock adapter's pinned copy: before 8.23 an idle socket
 * kept the network buffer its last frame arrived in (up to 64 KiB each).
 */
describe('the ws the gateway is built with', () => {
  it('is 8.23 or later', () => {
    const { version } = createRequire(import.meta.url)('ws/package.json') as { version: string };
    const [major, minor] = version.split('.').map(Number);
    expect(major > 8 || (major === 8 && minor >= 23)).toBe(true);
  });
});
