import { startSandbox } from '../src/sandbox'
import { countNotOk, enteredEvents, segmentBatcher, withCriteoAt } from './fixtures'

export interface SteadyStateResult {
  batches: number
  batchSize: number
  /** Requests the first batch made, by kind: it finds no token and no list, so it fetches and creates them. */
  firstBatch: Record<string, number>
  /** Requests every later batch made together, by kind. */
  afterFirst: Record<string, number>
  steadyBatches: number
  amendmentsPerBatch: number
  requestsPerBatch: number
  eventsNotOk: number
}

const KINDS = ['token', 'search', 'create', 'amend', 'rateLimited', 'unauthorized'] as const

function pick(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(KINDS.map((kind) => [kind, counts[kind] ?? 0]))
}

function minus(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(KINDS.map((kind) => [kind, (after[kind] ?? 0) - (before[kind] ?? 0)]))
}

/**
 * Pushes `batches` batches of "Audience Entered" events for one audience through `Destination.onBatch` against the
 * sandbox (rate limit on, as Criteo's), and counts what every batch after the first asked of Criteo.
 */
export async function measureSteadyState(options: { batches: number; batchSize: number }): Promise<SteadyStateResult> {
  const sandbox = await startSandbox()
  try {
    return await withCriteoAt(sandbox.url, async () => {
      const send = segmentBatcher('add')
      let eventsNotOk = 0
      eventsNotOk += countNotOk(await send(enteredEvents(options.batchSize, 'steady_audience', 0)))
      const firstBatch = pick(sandbox.requestCounts())
      for (let b = 1; b < options.batches; b++) {
        eventsNotOk += countNotOk(
          await send(enteredEvents(options.batchSize, 'steady_audience', b * options.batchSize))
        )
      }
      const afterFirst = minus(pick(sandbox.requestCounts()), firstBatch)
      const steadyBatches = options.batches - 1
      const requests = afterFirst.token + afterFirst.search + afterFirst.create + afterFirst.amend
      return {
        batches: options.batches,
        batchSize: options.batchSize,
        firstBatch,
        afterFirst,
        steadyBatches,
        amendmentsPerBatch: afterFirst.amend / steadyBatches,
        requestsPerBatch: requests / steadyBatches,
        eventsNotOk
      }
    })
  } finally {
    await sandbox.close()
  }
}

/** Users a minute that a rate limit allows, when each batch of `batchSize` users costs `requestsPerBatch` requests. */
export function usersPerMinute(requestsPerMinute: number, requestsPerBatch: number, batchSize: number): number {
  return (requestsPerMinute / requestsPerBatch) * batchSize
}
