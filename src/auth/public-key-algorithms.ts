import { createPublicKey } from 'node:crypto';
import type { JwtAlgorithm } from '../realtime-options.js';

const EC_ALGORITHM_BY_CURVE: Record<string, JwtAlgorithm> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

/**
 * The JWT algorithms a PEM public key can verify, its default first: RS256
 * for an RSA key, the one ES* of an EC key's curve. Checked at start, as a
 * mismatch would otherwise refuse every token at the handshake with 401.
 */
export function algorithmsForPublicKey(pem: string): JwtAlgorithm[] {
  let key;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new Error(`the public key cannot be read: ${(error as Error).message}`);
  }
  if (key.asymmetricKeyType === 'rsa') return ['RS256', 'RS384', 'RS512'];
  const curve = key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
  const algorithm = curve && EC_ALGORITHM_BY_CURVE[curve];
  if (algorithm) return [algorithm];
  throw new Error(`a key of type ${key.asymmetricKeyType}${curve ? ` (${curve})` : ''} verifies none of RS256/384/512, ES256/384/512`);
}

/** The pinned algorithm, or the key's default; one the key cannot verify is refused here rather than at every handshake. */
export function publicKeyAlgorithm(publicKey: string, pinned: JwtAlgorithm | undefined): JwtAlgorithm {
  if (pinned?.startsWith('HS')) throw new Error(`RealtimeModule: auth.algorithm ${pinned} needs auth.secret, not a public key`);
  let usable: JwtAlgorithm[];
  try {
    usable = algorithmsForPublicKey(publicKey);
  } catch (error) {
    throw new Error(`RealtimeModule: auth.publicKey: ${(error as Error).message}`);
  }
  if (pinned && !usable.includes(pinned)) {
    throw new Error(`RealtimeModule: auth.algorithm ${pinned} cannot be verified with auth.publicKey, which takes ${usable.join(', ')}`);
  }
  return pinned ?? usable[0];
}
