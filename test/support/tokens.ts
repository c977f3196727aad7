import { JwtService } from '@nestjs/jwt';

export const TEST_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';
export const TEST_ISSUER = 'https://auth.test.example';
export const TEST_AUDIENCE = 'switchboard-tests';

const jwt = new JwtService();

export interface TokenOptions {
  name?: string;
  tid?: string;
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
  secret?: string;
  /** Signs with a private key (PEM) instead of the secret, with `algorithm`. */
  privateKey?: string;
  algorithm?: 'HS256' | 'RS256' | 'RS512' | 'ES256' | 'ES384';
  issuer?: string;
  audience?: string;
  claims?: Record<string, unknown>;
}

/** A token the test servers accept unless the options say otherwise. */
export function token(sub: string | undefined, options: TokenOptions = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return jwt.sign(
    {
      ...(sub !== undefined ? { sub } : {}),
      ...(options.name ? { name: options.name } : {}),
      ...(options.tid ? { tid: options.tid } : {}),
      exp: now + (options.expiresIn ?? 3600),
      iat: now,
      iss: options.issuer ?? TEST_ISSUER,
      aud: options.audience ?? TEST_AUDIENCE,
      ...options.claims,
    },
    options.privateKey
      ? { privateKey: options.privateKey, algorithm: options.algorithm ?? 'RS256' }
      : { secret: options.secret ?? TEST_SECRET, algorithm: options.algorithm ?? 'HS256' },
  );
}
