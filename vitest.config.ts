/**
 * Vitest configuration: every `test/**\/*.test.ts` file runs in its own forked worker, in parallel, against
 * one PostgreSQL server found or started by the global setup (each file makes its own database).
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    // Hooks may start servers or create databases; an embedded PostgreSQL can take a while on first start.
    hookTimeout: 60_000,
    testTimeout: 30_000,
    teardownTimeout: 30_000,
  },
});
