/**
 * createFencepostTestingModule: the module runs on its own fresh database, its lifecycle hooks run, and
 * close() shuts the pool and drops the database (even with a connection of someone else left open to it).
 */
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { EventLog } from '../../src/index.js';
import { FencepostModule } from '../../src/nest/index.js';
import { createFencepostTestingModule } from '../../src/testing/index.js';
import { adminQuery, adminUrl } from '../support/database.js';
import { rejectionOf } from '../support/assertions.js';

@Injectable()
class InitProbe implements OnModuleInit {
  initialised = false;
  constructor(@Inject(EventLog) readonly log: EventLog) {}
  onModuleInit() {
    this.initialised = true;
  }
}

async function databaseExists(name: string): Promise<boolean> {
  return (await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [name])).length > 0;
}

describe('createFencepostTestingModule', () => {
  it('runs the module on a fresh database and drops it on close', async () => {
    const testing = await createFencepostTestingModule(
      {
        imports: [FencepostModule.forRoot({ connectionString: 'postgres://nowhere.invalid/db' })],
        providers: [InitProbe],
      },
      { adminUrl: adminUrl(), fencepost: { schema: 'under_test' } },
    );
    const probe = testing.module.get(InitProbe);
    expect(probe.initialised).toBe(true);
    expect(testing.databaseName).toMatch(/^fp_nest_[0-9a-f]{16}$/);
    const [row] = (await probe.log.pool.query<{ db: string }>('SELECT current_database() AS db')).rows;
    expect(row?.db).toBe(testing.databaseName);
    expect(probe.log.schema).toBe('under_test');
    await probe.log.stream('s').append([{ body: 'x' }]);

    const stray = new pg.Client({ connectionString: testing.connectionString });
    stray.on('error', () => undefined);
    await stray.connect();
    await testing.close();
    expect(probe.log.pool.ended).toBe(true);
    expect(await databaseExists(testing.databaseName)).toBe(false);
    await testing.close(); // idempotent
  });

  it('drops the database again when the module fails to start', async () => {
    const databaseName = `fp_nest_failing_${process.pid}`;
    const error = await rejectionOf(
      createFencepostTestingModule(
        { imports: [FencepostModule.forRoot()] },
        { adminUrl: adminUrl(), databaseName, fencepost: { schema: 'not a schema name!' } },
      ),
    );
    expect((error as Error).message).toMatch(/FencepostModule options/);
    expect(await databaseExists(databaseName)).toBe(false);
  });
});
