/**
 * Suites that need something a developer's machine may lack. global-setup
 * records what is missing (and, with CI=true, fails the run instead); the
 * browser suites look for Chromium themselves (test/support/browser.ts).
 */

/** Why the PostgreSQL suites cannot run here, if they cannot. */
export const postgresMissing = (): string | undefined => process.env.TEST_POSTGRES_MISSING;

/** Why the suites of the Redis parts alone cannot run here, if they cannot. */
export const redisMissing = (): string | undefined => process.env.TEST_REDIS_MISSING;

/** Why the cluster suites (PostgreSQL and redis-server) cannot run here, if they cannot. */
export const clusterMissing = (): string | undefined => process.env.TEST_REDIS_MISSING ?? process.env.TEST_POSTGRES_MISSING;

/**
 * A suite that needs what `missing` names. Where it is absent, a developer's
 * run skips the suite with the reason in its reported title; a CI run
 * (CI=true) never skips: it fails at once, naming what is missing.
 */
export function describeNeeding(title: string, missing: string | undefined, suite: () => void): void {
  if (!missing) return describe(title, suite);
  if (process.env.CI === 'true') throw new Error(`CI=true but ${missing}: "${title}" cannot run`);
  describe.skip(`${title} [skipped: ${missing}]`, suite); // skipped because `missing` is absent on this machine (never in CI, see above); the title says why
}
