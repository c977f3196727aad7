import { JwtService } from '@nestjs/jwt';
import type { AuthOptions } from '../realtime-options.js';

export interface DevTokenOptions {
  /** The display name (`name` claim); the user id when absent. */
  name?: string;
  tid?: string;
  ttlSeconds: number;
}

const jwt = new JwtService();

/**
 * A token that a server with these `auth` options accepts, signed with its
 * own secret: for `npm run token`, `npm run chat` and `POST /dev/token`.
 * A server that verifies with a public key holds nothing to sign with.
 */
export function signDevToken(auth: AuthOptions, sub: string, options: DevTokenOptions): string {
  if (!auth.secret) {
    throw new Error('the server verifies tokens with JWT_PUBLIC_KEY: mint them with the matching private key, not with this tool');
  }
  return jwt.sign(
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
