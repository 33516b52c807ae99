/**
 * Vitest global setup: finds or starts one PostgreSQL server per `vitest run` (see `server.ts`), hands its
 * admin URL to test files as `inject('pgAdminUrl')`, and stops it when the run ends.
 */
import type { TestProject } from 'vitest/node';
import { startServer } from './server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin connection string of the test server; test files use `useTestDatabase()` rather than this. */
    pgAdminUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const server = await startServer();
  const shown = new URL(server.url);
  if (shown.password) shown.password = '***';
  console.log(
    `fencepost tests: PostgreSQL from ${server.source} (${shown.href}) in ${Date.now() - started} ms`,
  );
  project.provide('pgAdminUrl', server.url);
  return () => server.stop();
}
