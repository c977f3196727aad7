import { parseArgs } from 'node:util';
import { mintDevToken } from './dev-token.js';

const usage = `Mints a development access token for the server configured by .env and the environment.

  npm run token -- <userId> [--name <display name>] [--tid <tenant>] [--ttl <seconds>]

Examples:
  npm run token -- alice
  npm run token -- bob --name "Bob B." --tid acme --ttl 600`;

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      tid: { type: 'string' },
      ttl: { type: 'string', default: '86400' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length !== 1) {
    console.error(usage);
    process.exit(values.help ? 0 : 2);
  }
  const ttlSeconds = Number(values.ttl);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new Error('--ttl must be a positive number of seconds');
  process.stdout.write(`${mintDevToken(positionals[0], { name: values.name, tid: values.tid, ttlSeconds })}\n`);
}

try {
  main();
} catch (error) {
  console.error(`token: ${(error as Error).message}`);
  process.exit(1);
}
