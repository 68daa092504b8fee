import type { SegmentEvent } from '@segment/actions-core'
import { startSandbox } from '../src/sandbox'
import { generateTimeOrderedStream } from '../src/cli/generate'
import { runSync } from '../src/cli/runner'
import { audienceChangeOf, expectedMembership } from '../src/cli/soak'
import { ChildScript } from './child'
import { SANDBOX_SETTINGS, withCriteoAt } from './fixtures'
import { SimulatedClock, startLatencyProxy } from './simulated-time'

/**
 * "time": the stream as a Segment export holds it, entries and exits of many users interleaved in time order.
 * "grouped": the same events, every entry first and then every exit, each in their order: the tidy shape.
 */
export type TimeOrdering = 'time' | 'grouped'

export interface TimeOrderedOptions {
  /** Events per stream; each size is synced in both orders. */
  sizes: number[]
  audiences: number
  /** Share of the events that are exits, interleaved with the entries. */
  exitShare: number
  /** Users drawn from, per event: fewer users than events, so the same users enter, exit and enter again. */
  usersPerEvent: number
  batchSize: number
  concurrency: number
  latencyMs: number
  rateLimitPerMinute: number
}

export interface TimeOrderedScenario extends Omit<TimeOrderedOptions, 'sizes'> {
  events: number
  ordering: TimeOrdering
}

export interface TimeOrderedRow {
  events: number
  ordering: TimeOrdering
  exits: number
  batches: number
  windows: number
  superseded: number
  /** Requests Criteo received, 429s included. */
  requests: number
  amendments: number
  rateLimited: number
  retries: number
  rateLimitPauses: number
  rateLimitWaitMs: number
  simulatedMinutes: number
  realSeconds: number
  synced: number
  errored: number
  /** Identifiers a list holds that the stream does not leave in it, or lacks that it does: 0 when exact. */
  mismatched: number
  /** Heap in use after a full garbage collection, at each tenth of the run (from 10% to 100%). */
  heapAfterGc: number[]
  /** The child process's peak RSS, the stream, sandbox and proxy included. */
  peakRss: number
}

/** A minute boundary, so the sandbox's rate-limit windows start where the run starts. */
const SIMULATION_START = Date.UTC(2026, 10, 23, 9, 0, 0)

export function timeOrderedStream(scenario: TimeOrderedScenario): SegmentEvent[] {
  const events = generateTimeOrderedStream({
    events: scenario.events,
    audiences: Array.from({ length: scenario.audiences }, (_, i) => `audience_${i + 1}`),
    users: Math.ceil(scenario.events * scenario.usersPerEvent),
    exitShare: scenario.exitShare,
    seed: 14
  })
  if (scenario.ordering === 'time') return events
  const entered = (event: SegmentEvent) => audienceChangeOf(event)?.entered === true
  return [...events.filter(entered), ...events.filter((event) => !entered(event))]
}

/**
 * One stream synced through runSync against the sandbox, with Criteo's rate limit and a modelled latency in
 * simulated time (bench/simulated-time.ts), then every list compared with what the stream leaves in it. Run in a
 * process of its own (bench/processes/time-ordered.ts), with `gc` exposed, so that its memory is its own.
 */
export async function runTimeOrderedScenario(scenario: TimeOrderedScenario): Promise<TimeOrderedRow> {
  const events = timeOrderedStream(scenario)
  const clock = new SimulatedClock(SIMULATION_START)
  const sandbox = await startSandbox({ now: clock.now, rateLimitPerMinute: scenario.rateLimitPerMinute })
  const proxy = await startLatencyProxy(sandbox.url, clock, scenario.latencyMs)
  const gc = (globalThis as { gc?: () => void }).gc
  const heapAfterGc: number[] = []
  try {
    const started = performance.now()
    const result = await withCriteoAt(proxy.url, () =>
      runSync({
        events,
        settings: SANDBOX_SETTINGS,
        batchSize: scenario.batchSize,
        concurrency: scenario.concurrency,
        now: clock.now,
        sleep: clock.sleep,
        onProgress: ({ done, total }) => {
          while (gc && heapAfterGc.length < Math.floor((done / total) * 10)) {
            gc()
            heapAfterGc.push(process.memoryUsage().heapUsed)
          }
        }
      })
    )
    const realSeconds = (performance.now() - started) / 1000
    const expected = expectedMembership(events)
    let mismatched = 0
    for (const [name, members] of expected) {
      const list = sandbox.lists(SANDBOX_SETTINGS.advertiser_id).find((l) => l.name === name)
      const actual = new Set(list ? sandbox.members(list.id) : [])
      for (const member of members) if (!actual.has(member)) mismatched++
      for (const member of actual) if (!members.has(member)) mismatched++
    }
    const statuses = Object.values(proxy.tally).flatMap((byStatus) => Object.entries(byStatus))
    const amend = Object.entries(proxy.tally.amend ?? {})
    return {
      events: events.length,
      ordering: scenario.ordering,
      exits: events.filter((event) => audienceChangeOf(event)?.entered === false).length,
      batches: result.batches,
      windows: result.windows,
      superseded: result.superseded,
      requests: statuses.reduce((n, [, count]) => n + count, 0),
      amendments: amend.filter(([status]) => Number(status) < 300).reduce((n, [, count]) => n + count, 0),
      rateLimited: sandbox.requestCounts().rateLimited,
      retries: result.retries,
      rateLimitPauses: result.rateLimitPauses,
      rateLimitWaitMs: result.rateLimitWaitMs,
      simulatedMinutes: result.durationMs / 60_000,
      realSeconds,
      synced: result.audiences.reduce((n, a) => n + a.synced, 0),
      errored: result.audiences.reduce((n, a) => n + a.errored, 0),
      mismatched,
      heapAfterGc,
      peakRss: process.resourceUsage().maxRSS * 1024
    }
  } finally {
    await proxy.close()
    await sandbox.close()
  }
}

/** Each size in both orders, each run in a fresh process: time order first, then the same events grouped. */
export async function measureTimeOrdered(options: TimeOrderedOptions): Promise<TimeOrderedRow[]> {
  const rows: TimeOrderedRow[] = []
  const { sizes, ...rest } = options
  for (const events of sizes) {
    for (const ordering of ['time', 'grouped'] as const) {
      const scenario: TimeOrderedScenario = { ...rest, events, ordering }
      const child = new ChildScript('time-ordered.ts', [JSON.stringify(scenario)], ['--expose-gc'])
      rows.push(await child.next<TimeOrderedRow>())
      await child.end()
    }
  }
  return rows
}
