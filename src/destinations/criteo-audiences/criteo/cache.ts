/**
 * A small in-memory map whose entries expire, bounded in size (the oldest entry goes first).
 * It lives as long as the worker process; callers key it by everything that makes an entry true.
 */
export class ExpiringCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>()

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = () => Date.now()
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key)
      return undefined
    }
    return entry.value
  }

  set(key: string, value: V, ttlMs: number): void {
    this.entries.delete(key)
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs })
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string
      this.entries.delete(oldest)
    }
  }

  /** Forgets `key`, but only while it still holds `value`: a newer value set by a concurrent caller stays. */
  deleteIf(key: string, value: V): void {
    if (this.entries.get(key)?.value === value) this.entries.delete(key)
  }

  clear(): void {
    this.entries.clear()
  }
}

/**
 * Runs `create` once per key at a time: concurrent callers asking for the same key share one promise.
 */
export class InFlight<V> {
  private readonly pending = new Map<string, Promise<V>>()

  get(key: string): Promise<V> | undefined {
    return this.pending.get(key)
  }

  run(key: string, create: () => Promise<V>): Promise<V> {
    const existing = this.pending.get(key)
    if (existing) return existing
    const promise = create().finally(() => this.pending.delete(key))
    // Whoever awaits the promise sees its failure; this only stops an unawaited one from crashing the process.
    promise.catch(() => undefined)
    this.pending.set(key, promise)
    return promise
  }

  clear(): void {
    this.pending.clear()
  }
}
