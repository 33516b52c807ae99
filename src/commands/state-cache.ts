/**
 * The states and versions a command handler saw last, per aggregate and stream, so that the next command on the same
 * aggregate can skip its load: the append is conditional on the cached version, so a stale entry costs a
 * `SeqNumMismatchError` and a reload, never a wrong write. Least recently used entries are dropped beyond
 * `size`. States are shared with the results handed out, so they must be treated as immutable (as a
 * decider's `evolve` does: it returns a new state).
 */
export class StateCache {
  readonly #size: number;
  readonly #entries = new Map<string, { state: unknown; version: number }>();

  constructor(size: number) {
    this.#size = size;
  }

  get(key: string): { state: unknown; version: number } | undefined {
    const entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry;
  }

  set(key: string, state: unknown, version: number): void {
    if (this.#size === 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, { state, version });
    if (this.#entries.size > this.#size) this.#entries.delete(this.#entries.keys().next().value!);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}
