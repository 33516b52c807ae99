/**
 * Vitest configuration: every `test/**\/*.test.ts` file runs in its own forked worker, in parallel, against
 * one PostgreSQL server found or started by the global setup (each file makes its own database).
 *
 * The NestJS code and its tests are compiled by swc (`unplugin-swc`), because esbuild, which compiles the
 * rest, does not emit decorator metadata (`design:paramtypes`), without which Nest cannot inject constructor
 * parameters by type. Everything else stays on esbuild, so the swc step costs the rest of the suite nothing.
 */
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

/** Files that declare Nest providers or modules. */
const NEST_FILES =
  /\/(src\/nest|src\/testing|test\/nest|test\/testing|test\/examples|examples\/bank-account)\/[^/]+\.ts$/;

// unplugin-swc's `config` hook turns esbuild off everywhere; leave it out and split the files instead.
const { config: _turnsEsbuildOff, ...swcForNest } = swc.vite({ include: NEST_FILES });

export default defineConfig({
  plugins: [swcForNest],
  esbuild: { exclude: NEST_FILES },
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
