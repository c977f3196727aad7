/**
 * Summarises a V8 CPU profile (from `npm run bench -- --cpu-prof <dir>`):
 * self time by function and by package, the top entries first.
 *
 *   node bench/profile-summary.mjs [--from <seconds>] bench/profiles/switchboard-1234.cpuprofile [top]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: options, positionals } = parseArgs({ allowPositionals: true, options: { from: { type: 'string', default: '0' } } });
const [file, top = '40'] = positionals;
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
// --from skips the start-up (module loading, migrations) so the summary shows the steady state.
const fromUs = Number(options.from) * 1e6;
let elapsed = 0;
const dt = profile.timeDeltas.map((delta) => {
  elapsed += delta;
  return elapsed < fromUs ? 0 : delta;
});
const self = new Map();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const byFunction = new Map();
const byPackage = new Map();
for (const [id, time] of self) {
  const { functionName, url, lineNumber } = byId.get(id).callFrame;
  const where = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|bench)\//, '$1/');
  const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + time);
  const pkg = url.includes('node_modules/') ? url.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, '$1') : url.startsWith('node:') ? 'node:internal' : url ? url.replace(/^.*\/(dist\/src\/[^/]+).*$/, '$1') : functionName;
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + time);
}
const show = (title, map) => {
  console.log(`\n${title} (of ${(total / 1e6).toFixed(2)} s sampled)`);
  for (const [key, time] of [...map].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) console.log(`${((time / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
};
show('self time by package', byPackage);
show('self time by function', byFunction);

// Inclusive time: each function counted once per sample it is on the stack of.
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const inclusive = new Map();
const sampleTime = new Map();
profile.samples.forEach((id, i) => sampleTime.set(id, (sampleTime.get(id) ?? 0) + (dt[i] ?? 0)));
for (const [id, time] of sampleTime) {
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const { functionName, url, lineNumber } = byId.get(at).callFrame;
    if (!url.includes('/dist/src/') && !url.includes('@nestjs') && !url.includes('typeorm/') && !url.includes('class-')) continue;
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/')}:${lineNumber + 1}`;
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + time);
  }
}
show('inclusive time (project, Nest, TypeORM, class-*)', inclusive);
