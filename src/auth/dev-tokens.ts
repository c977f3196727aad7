import { JwtService } from '@nestjs/jwt';
import type { AuthOptions } from '../realtime-options.js';

export interface DevTokenOptions {
  name?: string;
  tid?: string;
  ttlSeconds: number;
}

/**
 * A token the server's own settings accept, for development: the CLI
 * (`npm run token`, `npm run chat`) and `POST /dev/token`. HS* secrets only.
 */
export function signDevToken(auth: AuthOptions, sub: string, options: DevTokenOptions): { token: string; exp: number } {
  if (!auth.secret) {
    throw new Error('the server verifies tokens with JWT_PUBLIC_KEY: mint them with the matching private key, not with this tool');
  }
  const exp = Math.floor(Date.now() / 1000) + options.ttlSeconds;
  const token = new JwtService().sign(
    { sub, exp, ...(options.name ? { name: options.name } : {}), ...(options.tid ? { tid: options.tid } : {}) },
    {
      secret: auth.secret,
      algorithm: auth.algorithm ?? 'HS256',
      ...(auth.issuer ? { issuer: auth.issuer } : {}),
      ...(auth.audience ? { audience: auth.audience } : {}),
    },
  );
  return { token, exp };
}
