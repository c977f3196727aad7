/**
 * Suites that need something a developer's machine may lack. global-setup
 * records what is missing (and, with CI=true, fails the run instead); the
 * browser suites look for Chromium themselves (test/support/browser.ts).
 */

/** Why the PostgreSQL suites cannot run here, if they cannot. */
export const postgresMissing = (): string | undefined => process.env.TEST_POSTGRES_MISSING;

/** Why the cluster suites (PostgreSQL and redis-server) cannot run here, if they cannot. */
export const clusterMissing = (): string | undefined => process.env.TEST_REDIS_MISSING ?? process.env.TEST_POSTGRES_MISSING;

/**
 * A suite that needs what `missing` names when it is absent. Skipped only
 * then and only outside CI, with the reason in its reported title; with
 * CI=true it runs and fails for what is missing, so CI never passes without it.
 */
export function describeNeeding(title: string, missing: string | undefined, suite: () => void): void {
  if (missing && process.env.CI !== 'true') {
    // Skipped because `missing` is absent on this machine; the title says so.
    describe.skip(`${title} [skipped: ${missing}]`, suite);
  } else {
    describe(title, suite);
  }
}
