import { startSandbox } from '../src/sandbox'
import { ChildScript } from './child'

/** One batch of one size, run in fresh processes `runs` times: the run with the highest peak RSS, and the range. */
export interface LargeBatchRow {
  events: number
  runs: number
  /** Time of the one `onBatch` call, from the first mapping to the multi-status response: the fastest run's. */
  ms: number
  /** RSS of the fresh process once node, ts-node and actions-core are loaded. */
  baselineRss: number
  /** RSS with the batch's events built, before `onBatch`. */
  withEventsRss: number
  /** The process's peak RSS (the OS's high-water mark): the highest of the runs, since the target is a ceiling. */
  peakRss: number
  /** The lowest peak RSS of the runs: how far apart runs land is when V8 happened to collect, not the code. */
  lowestPeakRss: number
  /** Amendment requests Criteo received for the batch, in each run (the most any run made). */
  amendments: number
  results: number
  /** Events not synced, over all the runs. */
  eventsNotOk: number
}

export type RunFigures = Pick<
  LargeBatchRow,
  'ms' | 'baselineRss' | 'withEventsRss' | 'peakRss' | 'results' | 'eventsNotOk'
>

/**
 * One batch per size, each in `runs` fresh processes one after another, against a sandbox in this one (so the
 * sandbox's memory is not the child's).
 */
export async function measureLargeBatches(options: { sizes: number[]; runs?: number }): Promise<LargeBatchRow[]> {
  const runs = options.runs ?? 1
  // Amendments of 50,000 identifiers arrive in ~3.4 MB bodies; the sandbox accepts up to 64 MB.
  const sandbox = await startSandbox({ rateLimitPerMinute: false })
  try {
    const rows: LargeBatchRow[] = []
    for (const size of options.sizes) {
      const measured: Array<RunFigures & { amendments: number }> = []
      for (let run = 0; run < runs; run++) {
        const child = new ChildScript('large-batch.ts', [sandbox.url, String(size)])
        // The child first syncs one event, which gets it its token and its list; the large batch follows.
        await child.next<{ warmed: true }>()
        const before = sandbox.requestCounts().amend
        const figures = await child.next<RunFigures>()
        await child.end()
        measured.push({ ...figures, amendments: sandbox.requestCounts().amend - before })
      }
      rows.push(combineRuns(size, measured))
    }
    return rows
  } finally {
    await sandbox.close()
  }
}

/** One row for the runs of one size: the figures of the run with the highest peak RSS, the fastest time, the range. */
export function combineRuns(
  events: number,
  measured: ReadonlyArray<RunFigures & { amendments: number }>
): LargeBatchRow {
  const worst = measured.reduce((a, b) => (b.peakRss > a.peakRss ? b : a))
  return {
    events,
    runs: measured.length,
    ms: Math.min(...measured.map((m) => m.ms)),
    baselineRss: worst.baselineRss,
    withEventsRss: worst.withEventsRss,
    peakRss: worst.peakRss,
    lowestPeakRss: Math.min(...measured.map((m) => m.peakRss)),
    amendments: Math.max(...measured.map((m) => m.amendments)),
    results: worst.results,
    eventsNotOk: measured.reduce((sum, m) => sum + m.eventsNotOk, 0)
  }
}
