import type { ConnectOptions } from '../log/connect-options.js';

/**
 * Options of `FencepostModule.forRoot` / `forRootAsync`: how the module connects its {@link EventLog}. They are
 * {@link ConnectOptions}, checked by `EventLog.connect` when the application starts.
 *
 * - `connectionString` (default `DATABASE_URL`) or `pool`: a pool fencepost makes is closed on application
 *   shutdown; a `pool` you pass stays yours to close.
 * - `schema` (default `fencepost`), `basin` (default `default-basin`), `migrate` (default true), `max`,
 *   `sweepIntervalMs`, `pollIntervalMs`.
 *
 * @example
 * FencepostModule.forRoot({ connectionString: process.env.DATABASE_URL, schema: 'bank', migrate: true });
 */
export type FencepostModuleOptions = ConnectOptions;
