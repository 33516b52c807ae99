import { describe, expect, it } from 'vitest';
import { SeqNumMismatchError } from '../../src/index.js';
import { uniqueName, useEventLog } from '../support/event-log.js';

const fixture = useEventLog({ max: 20 });
const WRITERS = 16;

describe('16 connections racing on one stream', () => {
  it('lets exactly one append win each matchSeqNum; losers learn the true tail', async () => {
    const stream = fixture.log.stream(uniqueName('race'));
    const rounds = 40;
    for (let round = 0; round < rounds; round++) {
      const results = await Promise.allSettled(
        Array.from({ length: WRITERS }, (_, writer) =>
          stream.append([{ body: `round ${round} writer ${writer}` }], { matchSeqNum: round }),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      expect(won[0]!.value.start.seqNum).toBe(round);
      for (const lost of results.filter((r) => r.status === 'rejected')) {
        expect(lost.reason).toBeInstanceOf(SeqNumMismatchError);
        expect((lost.reason as SeqNumMismatchError).expectedSeqNum).toBe(round + 1);
      }
    }
    const { records } = await stream.read({ seqNum: 0 });
    expect(records.map((r) => r.seqNum)).toEqual(Array.from({ length: rounds }, (_, i) => i));
    records.forEach((r, i) => expect(r.body).toMatch(new RegExp(`^round ${i} writer \\d+$`)));
  });

  it('creates a new stream once when every racer expects it to be empty', async () => {
    for (let round = 0; round < 10; round++) {
      const stream = fixture.log.stream(uniqueName('create-race'));
      const results = await Promise.allSettled(
        Array.from({ length: WRITERS }, (_, writer) =>
          stream.append([{ body: `w${writer}` }], { matchSeqNum: 0 }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const lost of results.filter((r) => r.status === 'rejected')) {
        expect((lost.reason as SeqNumMismatchError).expectedSeqNum).toBe(1);
      }
      expect(await stream.checkTail()).toMatchObject({ seqNum: 1 });
    }
  });

  it('numbers unconditional appends without gaps or duplicates', async () => {
    const stream = fixture.log.stream(uniqueName('free-for-all'));
    const perWriter = 25;
    const acks = await Promise.all(
      Array.from({ length: WRITERS }, async (_, writer) => {
        const mine = [];
        for (let i = 0; i < perWriter; i++) {
          mine.push(await stream.append([{ body: `${writer}:${i}` }, { body: `${writer}:${i}:second` }]));
        }
        return mine;
      }),
    );
    const starts = acks.flat().map((ack) => ack.start.seqNum);
    expect(new Set(starts).size).toBe(WRITERS * perWriter);
    const records = [];
    for await (const record of stream.readSession({ seqNum: 0 })) records.push(record);
    expect(records.map((r) => r.seqNum)).toEqual(
      Array.from({ length: WRITERS * perWriter * 2 }, (_, i) => i),
    );
    // Each batch is contiguous: its second record directly follows its first.
    for (let i = 0; i < records.length; i += 2)
      expect(records[i + 1]!.body).toBe(`${records[i]!.body}:second`);
    // Per writer, batches land in the order they were acknowledged.
    for (const mine of acks) {
      const seqs = mine.map((a) => a.start.seqNum);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
  });
});
