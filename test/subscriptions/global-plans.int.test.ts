import { describe, expect, it } from 'vitest';
import { consumerListStatement } from '../../src/subscriptions/consumers.js';
import { waitingStatement } from '../../src/subscriptions/horizon.js';
import { recordsBetweenStatement } from '../../src/subscriptions/skip-ahead.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

/** The nodes of a plan that read the whole records table. */
function recordScans(node: PlanNode): PlanNode[] {
  const own = node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'records' ? [node] : [];
  return [...own, ...(node.Plans ?? []).flatMap(recordScans)];
}

describe("the global log's probes, as fencepost's pools plan them (generic plans)", () => {
  it('walk the global index from their positions instead of reading the whole records table', async () => {
    // 20,000 appends of one record each (the global index holds one entry per append), fresh statistics.
    const basin = uniqueName('fp-plans');
    await fixture.log.basins.create({ basin, config: { createStreamOnAppend: true } });
    for (let round = 0; round < 200; round++) {
      await fixture.log.appendMany(
        Array.from({ length: 100 }, (_, i) => ({ basin, stream: `s-${i}`, records: [{ body: 'x' }] })),
      );
    }
    const { schema } = fixture.log;
    await fixture.log.pool.query(`analyze "${schema}".records`);
    const {
      rows: [last],
    } = await fixture.log.pool.query<{ key: string; stream_id: string; seq_num: string }>(
      `select commit_key::text as key, stream_id, seq_num from "${schema}".records where span is not null
       order by commit_key desc, stream_id desc, seq_num desc limit 1`,
    );
    // On a connection of the log's own pool: generic plans from the first execution (connect-options.ts).
    const client = await fixture.log.pool.connect();
    try {
      const plan = async (statement: { name: string; text: string }, values: unknown[]) => {
        await client.query({ name: statement.name, text: statement.text, values });
        const literals = values.map((value) => client.escapeLiteral(String(value))).join(', ');
        const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
          `explain (format json) execute "${statement.name}"(${literals})`,
        );
        return rows[0]!['QUERY PLAN'][0].Plan;
      };
      // A consumer's skip-ahead probe, past the last record: nothing lies between.
      const between = await plan(recordsBetweenStatement(schema), [
        last!.key,
        last!.stream_id,
        last!.seq_num,
        basin,
        (BigInt(last!.key) + 5n).toString(),
        0,
        -1,
      ]);
      expect(recordScans(between)).toEqual([]);
      // A stall report's count of the records waiting above the horizon.
      expect(recordScans(await plan(waitingStatement(schema), [basin]))).toEqual([]);
      // The consumers' list, counting each one's lag: one with none.
      await fixture.log.consumers.reset('at-the-end', { to: 'end', basin });
      expect(recordScans(await plan(consumerListStatement(schema), [basin]))).toEqual([]);
    } finally {
      client.release();
    }
  });
});
