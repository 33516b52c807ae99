import type { EventLog } from '../../src/index.js';
import { eventually } from './assertions.js';

/**
 * Waits until every transaction that began before now has ended: the horizon is cluster-wide, and other
 * databases on the test server may hold it for a moment, so a global read just after a commit may not see
 * it yet.
 */
export async function horizonPassed(log: EventLog): Promise<void> {
  const { rows } = await log.pool.query<{ x: string }>('select pg_current_xact_id()::text as x');
  const now = BigInt(rows[0]!.x);
  await eventually(async () => BigInt((await log.horizon()).horizon) > now, 'the horizon to pass now');
}
