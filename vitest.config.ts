/**
 * Vitest configuration: every `test/**\/*.test.ts` file runs in its own forked worker, in parallel, against
 * one PostgreSQL server found or started by the global setup (each file makes its own database).
 *
 * TypeScript is compiled by swc (`unplugin-swc`) instead of esbuild because esbuild does not emit decorator
 * metadata (`design:paramtypes`), without which Nest cannot inject constructor parameters by type.
 */
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [swc.vite()],
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
