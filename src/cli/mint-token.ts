import { parseArgs } from 'node:util';
import { JwtService } from '@nestjs/jwt';
import { loadServerSettings } from '../config/server-settings.js';
import { loadEnvFile } from './load-env-file.js';

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
  const ttl = Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl <= 0) throw new Error('--ttl must be a positive number of seconds');

  loadEnvFile();
  const { auth } = loadServerSettings(process.env).realtime;
  if (!auth.secret) {
    throw new Error('the server verifies tokens with JWT_PUBLIC_KEY: mint them with the matching private key, not with this tool');
  }
  const token = new JwtService().sign(
    { sub: positionals[0], ...(values.name ? { name: values.name } : {}), ...(values.tid ? { tid: values.tid } : {}) },
    {
      secret: auth.secret,
      algorithm: auth.algorithm ?? 'HS256',
      expiresIn: ttl,
      ...(auth.issuer ? { issuer: auth.issuer } : {}),
      ...(auth.audience ? { audience: auth.audience } : {}),
    },
  );
  process.stdout.write(`${token}\n`);
}

try {
  main();
} catch (error) {
  console.error(`token: ${(error as Error).message}`);
  process.exit(1);
}
