/**
 * A consumer process killed (SIGKILL) in the middle of a batch leaves the read model as if that batch never
 * ran, and a restarted consumer ends with the read model of a clean run.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseCursor, isAfter } from '../../src/subscriptions/cursor.js';
import { eventually } from '../support/assertions.js';
import { uniqueName, useEventLog } from '../support/event-log.js';
import { applyToReadModel, READ_MODEL } from './support/read-model.js';
import { testPool } from '../support/database.js';

const fixture = useEventLog();
const CHILD = fileURLToPath(new URL('./support/crash-consumer.ts', import.meta.url));
let admin: pg.Pool;
beforeAll(async () => {
  admin = testPool(fixture.connectionString);
  await admin.query(READ_MODEL);
});
afterAll(() => admin.end());

/** Starts the child consumer and SIGKILLs it as soon as it is inside batch `killAt`. */
async function crashAt(consumer: string, prefix: string, killAt: number): Promise<void> {
  const url = new URL(fixture.connectionString);
  url.searchParams.set('application_name', 'fp-crash-child');
  const child = fork(CHILD, [url.toString(), consumer, prefix, String(killAt)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_code, signal) => resolve(signal)),
  );
  child.once('message', () => child.kill('SIGKILL'));
  expect(await exited).toBe('SIGKILL');
  // The server rolls the open transaction back once it sees the connection gone.
  await eventually(async () => {
    const { rows } = await admin.query(
      `select 1 from pg_stat_activity where application_name = 'fp-crash-child'`,
    );
    return rows.length === 0;
  }, 'the killed consumer to be gone from the server');
}

async function readModel(consumer: string): Promise<{ stream: string; n: number; seqs: string }[]> {
  const { rows } = await admin.query(
    `select stream, n, seqs from totals where consumer = $1 order by stream`,
    [consumer],
  );
  return rows;
}

/** How many of the prefix's records are at or before the consumer's checkpoint. */
async function checkpointed(consumer: string, prefix: string): Promise<number> {
  const [info] = (await fixture.log.consumers.list()).filter((c) => c.name === consumer);
  if (!info) return 0;
  const checkpoint = parseCursor(info.cursor);
  const { records } = await fixture.log.readAll({ filter: { streamPrefix: prefix }, count: 10_000 });
  return records.filter((r) => !isAfter(parseCursor(r.cursor), checkpoint)).length;
}

it('a consumer killed mid-batch leaves no trace of the batch; the restart ends as a clean run', async () => {
  const prefix = uniqueName('crash');
  for (let i = 0; i < 200; i++) await fixture.log.stream(`${prefix}-${i % 6}`).append([{ body: `r${i}` }]);
  const consumer = uniqueName('crashing');
  const sum = async () => (await readModel(consumer)).reduce((a, r) => a + r.n, 0);

  await crashAt(consumer, prefix, 4); // three batches committed, killed inside the fourth
  expect(await checkpointed(consumer, prefix)).toBe(30);
  expect(await sum()).toBe(30);
  await crashAt(consumer, prefix, 1); // killed inside its first batch: nothing more
  expect(await sum()).toBe(30);
  await crashAt(consumer, prefix, 3);
  expect(await sum()).toBe(50);
  expect(await checkpointed(consumer, prefix)).toBe(50);

  // Restarted here, it finishes; a clean consumer does the same work uninterrupted.
  const clean = uniqueName('clean');
  const controller = new AbortController();
  const runs = [consumer, clean].map((name) =>
    fixture.log
      .consumer(name, { filter: { streamPrefix: prefix }, batchSize: 10 })
      .run((batch, trx) => applyToReadModel(trx, name, batch), { signal: controller.signal }),
  );
  for (const name of [consumer, clean]) {
    await eventually(
      async () => (await readModel(name)).reduce((a, r) => a + r.n, 0) === 200,
      `${name} to finish`,
    );
  }
  controller.abort();
  await Promise.all(runs);
  const finished = await readModel(consumer);
  expect(finished).toEqual(await readModel(clean));
  expect(finished).toHaveLength(6);
  for (const row of finished) {
    expect(row.seqs).toBe(Array.from({ length: row.n }, (_, i) => i).join(','));
  }
}, 60_000);
