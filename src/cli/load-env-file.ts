import { existsSync } from 'node:fs';

/** The command-line tools read `.env` like the server does; variables already set win. */
export function loadEnvFile(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}
