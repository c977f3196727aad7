import { loadServerSettings } from '../config/server-settings.js';
import { signDevToken, type DevTokenOptions } from '../dev-tokens/sign-dev-token.js';
import { loadEnvFile } from './load-env-file.js';

/** A token the server configured by .env and the environment accepts (HS* secrets only). */
export function mintDevToken(sub: string, options: DevTokenOptions): string {
  loadEnvFile();
  return signDevToken(loadServerSettings(process.env).realtime.auth, sub, options);
}
