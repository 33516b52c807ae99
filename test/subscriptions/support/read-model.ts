import { sql, type Transaction } from 'kysely';
import type { ConsumerBatch } from '../../../src/index.js';

/** The crash test's read model: per consumer and stream, how many records and their seqNums in order. */
export const READ_MODEL = `create table totals (
  consumer text, stream text, n int not null, seqs text not null, primary key (consumer, stream))`;

export async function applyToReadModel(
  trx: Transaction<unknown>,
  consumer: string,
  batch: ConsumerBatch,
): Promise<void> {
  for (const r of batch.records) {
    await sql`insert into totals values (${consumer}, ${r.stream}, 1, ${String(r.seqNum)})
      on conflict (consumer, stream) do update
      set n = totals.n + 1, seqs = totals.seqs || ',' || excluded.seqs`.execute(trx);
  }
}
