/** The first `count` records of a page: what an iterator hands out of it. */
export interface Slice<R> {
  page: { record(index: number): R };
  count: number;
}

/**
 * Hands out the records of a generator's pages (read sessions, follows): from the current page at once (a
 * resolved promise, no generator step), from the next page once the current one is used up. An async
 * generator with a step per record cost 1.1 ms per 10,000 records here, this 0.5 ms. An aborted signal ends
 * it before the next record. `next` calls made before the last one settled wait their turn, as an async
 * generator's do; `return` (a `for await` left early) ends the page generator, running its `finally` blocks.
 */
export class RecordIterator<R> implements AsyncIterableIterator<R> {
  readonly #pages: AsyncGenerator<Slice<R>, void, undefined>;
  readonly #signal: AbortSignal | undefined;
  #slice: Slice<R> | undefined;
  #index = 0;
  /** The step that fetches the next page, while one runs. */
  #turning: Promise<IteratorResult<R, undefined>> | undefined;

  constructor(pages: AsyncGenerator<Slice<R>, void, undefined>, signal: AbortSignal | undefined) {
    this.#pages = pages;
    this.#signal = signal;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<R, undefined>> {
    if (this.#turning) {
      const next = () => this.next();
      return this.#turning.then(next, next);
    }
    const slice = this.#slice;
    if (slice !== undefined && this.#index < slice.count && !this.#signal?.aborted) {
      return Promise.resolve({ value: slice.page.record(this.#index++), done: false });
    }
    this.#slice = undefined;
    const turning = this.#turn();
    this.#turning = turning;
    const settled = () => {
      if (this.#turning === turning) this.#turning = undefined;
    };
    void turning.then(settled, settled);
    return turning;
  }

  /** Ends the session: the page generator's `finally` blocks run, and a page read ahead is dropped. */
  async return(): Promise<IteratorResult<R, undefined>> {
    this.#slice = undefined;
    await this.#pages.return(undefined);
    return { value: undefined, done: true };
  }

  async #turn(): Promise<IteratorResult<R, undefined>> {
    if (this.#signal?.aborted) return this.return();
    const step = await this.#pages.next();
    if (step.done) return { value: undefined, done: true };
    this.#slice = step.value;
    this.#index = 1;
    return { value: step.value.page.record(0), done: false };
  }
}
