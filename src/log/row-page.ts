import type { LateHeaders } from './text-types.js';

/**
 * A page of a read that keeps the rows node-pg parsed (bodies decoded as asked, header arrays as Postgres prints
 * them) and makes each record, headers included, only when it is asked for: a session hands its records out
 * one at a time, and a record made then dies young when its reader drops it. Made up front, a page's records
 * all lived until the reader reached the last of them, so many survived each young-generation collection that
 * V8 began allocating them in the old generation (allocation-site pretenuring), where each had to wait for a
 * full collection. Measured on a 10,000-record readSession in pages of 2,000, medians of 30: 26-30 ms made up
 * front, 16-18 ms made on demand, 14-15 ms with the headers made on demand too (100-byte bodies); 57-60 ms
 * against 24-25 ms with 1 KB bodies. Node's `--no-allocation-site-pretenuring` gave the same gain alone.
 * Stream reads (read-page.ts) and global reads (subscriptions/read-all-page.ts) extend it. Internal.
 */
export abstract class RowPage<Row, R, T> {
  protected readonly rows: readonly Row[];
  protected readonly decoding: LateHeaders<T>;

  constructor(rows: readonly Row[], decoding: LateHeaders<T>) {
    this.rows = rows;
    this.decoding = decoding;
  }

  /** How many records the page holds. */
  get count(): number {
    return this.rows.length;
  }

  /** The `index`th record, made anew on each call. */
  abstract record(index: number): R;

  /** Every record of the page. */
  records(): R[] {
    return this.rows.map((_, index) => this.record(index));
  }
}
