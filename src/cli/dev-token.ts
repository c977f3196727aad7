import { JwtService } from '@nestjs/jwt';
import { loadServerSettings } from '../config/server-settings.js';
import { loadEnvFile } from './load-env-file.js';

export interface DevTokenOptions {
  name?: string;
  tid?: string;
  ttlSeconds: number;
}

/** A token the server configured by .env and the environment accepts (HS* secrets only). */
export function mintDevToken(sub: string, options: DevTokenOptions): string {
  loadEnvFile();
  const { auth } = loadServerSettings(process.env).realtime;
  if (!auth.secret) {
    throw new Error('the server verifies tokens with JWT_PUBLIC_KEY: mint them with the matching private key, not with this tool');
  }
  return new JwtService().sign(
    { sub, ...(options.name ? { name: options.name } : {}), ...(options.tid ? { tid: options.tid } : {}) },
    {
      secret: auth.secret,
      algorithm: auth.algorithm ?? 'HS256',
      expiresIn: options.ttlSeconds,
      ...(auth.issuer ? { issuer: auth.issuer } : {}),
      ...(auth.audience ? { audience: auth.audience } : {}),
    },
  );
}
