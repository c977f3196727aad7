/**
 * Preloaded into a server by `npm run bench -- --survivors <dir>`: V8's
 * sampling heap profiler, keeping the objects that outlived at least one
 * young-generation collection (including those a later full collection
 * freed), so the profile shows what the scavenger copies and promotes rather
 * than what is allocated. With SAMPLE_ALL_ALLOCATIONS=1 (`--allocations
 * <dir>`) it keeps every object: what is allocated, which sets how often the
 * scavenger runs. Written to $SURVIVOR_PROFILE on SIGTERM; read it with
 * bench/heap-summary.mjs.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const session = new Session();
session.connect();
// The in-process session answers synchronously.
const post = (method, params) => {
  let answer;
  session.post(method, params, (error, result) => {
    if (error) throw error;
    answer = result;
  });
  return answer;
};
post('HeapProfiler.enable');
post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: process.env.SAMPLE_ALL_ALLOCATIONS === '1' });
process.once('SIGTERM', () => {
  writeFileSync(process.env.SURVIVOR_PROFILE, JSON.stringify(post('HeapProfiler.stopSampling').profile));
});
