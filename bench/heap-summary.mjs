/**
 * Summarises a sampling heap profile (from `npm run bench -- --survivors
 * <dir>`): sampled bytes by the function that allocated them, with as many
 * callers as asked, the top entries first.
 *
 *   node bench/heap-summary.mjs bench/profiles/switchboard-1234.heapprofile [top] [callers]
 */
import { readFileSync } from 'node:fs';

const [file, top = '30', callers = '1'] = process.argv.slice(2);
const { head } = JSON.parse(readFileSync(file, 'utf8'));
const bytes = new Map();
let total = 0;
const frame = ({ functionName, url, lineNumber }) =>
  `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|bench)\//, '$1/')}:${lineNumber + 1}`;
(function walk(node, stack) {
  const here = [frame(node.callFrame), ...stack].slice(0, Number(callers) + 1);
  if (node.selfSize > 0) {
    const key = here.join(' < ');
    bytes.set(key, (bytes.get(key) ?? 0) + node.selfSize);
    total += node.selfSize;
  }
  for (const child of node.children) walk(child, here);
})(head, []);
console.log(`sampled ${(total / 2 ** 20).toFixed(1)} MiB`);
for (const [key, size] of [...bytes].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) console.log(`${((size / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
