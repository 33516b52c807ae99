import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EventLog } from '../../src/index.js';
import { contextOf } from '../../src/log/log-context.js';
import { Sweeper, type SweeperOptions } from '../../src/log/sweep.js';
import { eventually } from '../support/assertions.js';
import { uniqueName, uniqueSchema, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

/** A log in a schema of its own (so counts see only this test's streams), with a basin-wide retention age. */
async function setUp(): Promise<{ log: EventLog; basin: string }> {
  const log = await fixture.connect({ schema: uniqueSchema('sweep') });
  const basin = `retained-${Math.random().toString(36).slice(2, 10)}`;
  await log.basins.create({
    basin,
    config: { createStreamOnAppend: true, defaultStreamConfig: { retentionPolicy: { age: 60 } } },
  });
  return { log, basin };
}

/** Streams of the basin with two records past the retention age and one fresh, in order of their ids. */
async function retainedStreams(log: EventLog, basin: string, count: number): Promise<string[]> {
  const names: string[] = [];
  const old = Date.now() - 10 * 60_000;
  for (let i = 0; i < count; i++) {
    const name = uniqueName('retained');
    const stream = log.basin(basin).stream(name);
    await stream.append([
      { body: 'old 0', timestamp: old },
      { body: 'old 1', timestamp: old + 1 },
    ]);
    await stream.append([{ body: 'fresh' }]);
    names.push(name);
  }
  return names;
}

/** Streams of the default basin configured with deleteOnEmpty, empty, and made to look an hour old. */
async function emptyStreams(log: EventLog, count: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = uniqueName('empty');
    await log
      .basin('default-basin')
      .streams.create({ stream: name, config: { deleteOnEmpty: { minAgeSecs: 60 } } });
    names.push(name);
  }
  await log.pool.query(
    `update "${log.schema}".streams set created_at = clock_timestamp() - interval '1 hour' where name = any($1)`,
    [names],
  );
  return names;
}

async function scalar(log: EventLog, query: string, values: unknown[] = []): Promise<number> {
  const { rows } = await log.pool.query<{ n: string }>(query, values);
  return Number(rows[0]!.n);
}

const trimmed = (log: EventLog) =>
  scalar(log, `select count(*) as n from "${log.schema}".streams where trim_point = 2`);
const recordsLeft = (log: EventLog) => scalar(log, `select count(*) as n from "${log.schema}".records`);
const streamsLeft = (log: EventLog) => scalar(log, `select count(*) as n from "${log.schema}".streams`);

const sweepers: Sweeper[] = [];
function sweeper(log: EventLog, options: SweeperOptions): Sweeper {
  const made = new Sweeper(contextOf(log), options);
  sweepers.push(made);
  return made;
}

afterEach(async () => {
  await Promise.all(sweepers.splice(0).map((s) => s.stop()));
  vi.restoreAllMocks();
});

describe('the background sweep, in bounded runs', () => {
  it('gets to every configured stream over runs with a small budget', async () => {
    const { log, basin } = await setUp();
    const retained = await retainedStreams(log, basin, 25);
    await emptyStreams(log, 5);
    await log.stream(uniqueName('plain')).append([{ body: 'kept', timestamp: 1 }]);
    expect(await recordsLeft(log)).toBe(25 * 3 + 1);
    sweeper(log, { intervalMs: 10, streamsPerRun: 4, recordsPerRun: 6 });
    await eventually(
      async () =>
        (await trimmed(log)) === 25 && (await recordsLeft(log)) === 25 + 1 && (await streamsLeft(log)) === 26,
      'every retained stream trimmed and swept, every empty one deleted',
    );
    const { records } = await log.basin(basin).stream(retained[24]!).read({ seqNum: 0 });
    expect(records.map((r) => r.body)).toEqual(['fresh']);
  });

  it('does at most its budget in one run, goes on from there in the next, and log.sweep() does it all', async () => {
    const { log, basin } = await setUp();
    const names = await retainedStreams(log, basin, 12);
    const background = sweeper(log, {
      intervalMs: 0,
      streamsPerRun: 5,
      recordsPerRun: 7,
      timeBudgetMs: 60_000,
    });

    expect(await background.runOnce()).toEqual({ streams: 5, records: 7 });
    expect(await trimmed(log)).toBe(5);
    expect(await recordsLeft(log)).toBe(36 - 7);
    const trimPoints = await log.pool.query<{ name: string }>(
      `select name from "${log.schema}".streams where trim_point = 2 order by id`,
    );
    expect(trimPoints.rows.map((r) => r.name)).toEqual(names.slice(0, 5));

    expect(await background.runOnce()).toEqual({ streams: 5, records: 7 });
    expect(await trimmed(log)).toBe(10);
    expect(await recordsLeft(log)).toBe(36 - 14);

    expect(await log.sweep()).toBe(24 - 14);
    expect(await trimmed(log)).toBe(12);
    expect(await recordsLeft(log)).toBe(12);
  });

  it('reports a failure once per kind, and again after a run succeeded', async () => {
    const { log, basin } = await setUp();
    const [name] = await retainedStreams(log, basin, 1);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const sweepWarnings = () => warn.mock.calls.filter(([line]) => String(line).includes('background sweep'));
    const background = sweeper(log, { intervalMs: 10 });
    const records = `"${log.schema}".records`;

    await log.pool.query(`alter table ${records} rename to records_away`);
    await eventually(() => background.failedRuns >= 4, 'four failed runs');
    expect(sweepWarnings()).toHaveLength(1);
    expect(String(sweepWarnings()[0]![0])).toMatch(/SQLSTATE 42P01.*records/);

    await log.pool.query(`alter table "${log.schema}".records_away rename to records`);
    await eventually(
      async () =>
        (await scalar(log, `select swept as n from "${log.schema}".streams where name = $1`, [name])) === 2,
      'a run that succeeds',
    );
    const failed = background.failedRuns;
    await log.pool.query(`alter table ${records} rename to records_away`);
    await eventually(() => background.failedRuns > failed, 'a failed run');
    expect(sweepWarnings()).toHaveLength(2);
    await log.pool.query(`alter table "${log.schema}".records_away rename to records`);
  });
});
