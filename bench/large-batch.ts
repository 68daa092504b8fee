import { startSandbox } from '../src/sandbox'
import { ChildScript } from './child'

export interface LargeBatchRow {
  events: number
  /** Time of the one `onBatch` call, from the first mapping to the multi-status response. */
  ms: number
  /** RSS of the fresh process once node, ts-node and actions-core are loaded. */
  baselineRss: number
  /** RSS with the batch's events built, before `onBatch`. */
  withEventsRss: number
  /** The process's peak RSS (the OS's high-water mark). */
  peakRss: number
  /** Amendment requests Criteo received for the batch. */
  amendments: number
  results: number
  eventsNotOk: number
}

/**
 * One batch per size, each in a fresh process, against a sandbox in this one (so the sandbox's memory is not the
 * child's).
 */
export async function measureLargeBatches(options: { sizes: number[] }): Promise<LargeBatchRow[]> {
  // Amendments of 50,000 identifiers arrive in ~3.4 MB bodies; the sandbox accepts up to 64 MB.
  const sandbox = await startSandbox({ rateLimitPerMinute: false })
  try {
    const rows: LargeBatchRow[] = []
    for (const size of options.sizes) {
      const before = sandbox.requestCounts().amend
      const child = new ChildScript('large-batch.ts', [sandbox.url, String(size)])
      const row = await child.next<Omit<LargeBatchRow, 'events' | 'amendments'>>()
      await child.end()
      rows.push({ events: size, ...row, amendments: sandbox.requestCounts().amend - before })
    }
    return rows
  } finally {
    await sandbox.close()
  }
}
