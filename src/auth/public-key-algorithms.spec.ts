import { generateKeyPairSync } from 'node:crypto';
import { resolveOptions, type JwtAlgorithm } from '../realtime-options.js';
import { algorithmsForPublicKey } from './public-key-algorithms.js';

const pem = (key: { publicKey: { export(options: { type: 'spki'; format: 'pem' }): string | Buffer } }) =>
  key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const RSA = pem(generateKeyPairSync('rsa', { modulusLength: 2048 }));
const P256 = pem(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }));
const P384 = pem(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }));
const ED25519 = pem(generateKeyPairSync('ed25519'));

const algorithmOf = (publicKey: string, algorithm?: JwtAlgorithm) =>
  resolveOptions({ auth: { publicKey, algorithm }, database: { type: 'sqlite', path: 'unused.sqlite' } }).auth.algorithm;

describe('algorithmsForPublicKey', () => {
  it('gives an RSA key the RS* family, RS256 first, and an EC key the ES* of its curve', () => {
    expect(algorithmsForPublicKey(RSA)).toEqual(['RS256', 'RS384', 'RS512']);
    expect(algorithmsForPublicKey(P256)).toEqual(['ES256']);
    expect(algorithmsForPublicKey(P384)).toEqual(['ES384']);
  });

  it('refuses a key no supported algorithm verifies, and one that cannot be read', () => {
    expect(() => algorithmsForPublicKey(ED25519)).toThrow('a key of type ed25519 verifies none of RS256/384/512, ES256/384/512');
    expect(() => algorithmsForPublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----')).toThrow(/the public key cannot be read/);
  });
});

describe('the algorithm resolveOptions pins for a public key', () => {
  it("defaults to the key's own", () => {
    expect(algorithmOf(RSA)).toBe('RS256');
    expect(algorithmOf(P256)).toBe('ES256');
    expect(algorithmOf(RSA, 'RS512')).toBe('RS512');
  });

  it('refuses at start an algorithm the key cannot verify', () => {
    expect(() => algorithmOf(P256, 'RS256')).toThrow('RealtimeModule: auth.algorithm RS256 cannot be verified with auth.publicKey, which takes ES256');
    expect(() => algorithmOf(RSA, 'ES256')).toThrow(/ES256 cannot be verified/);
    expect(() => algorithmOf(P384, 'ES256')).toThrow(/which takes ES384/);
    expect(() => algorithmOf(RSA, 'HS256')).toThrow('RealtimeModule: auth.algorithm HS256 needs auth.secret, not a public key');
    expect(() => algorithmOf(ED25519)).toThrow(/RealtimeModule: auth.publicKey: a key of type ed25519/);
  });
});
