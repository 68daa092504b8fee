import type { SegmentEvent } from '@segment/actions-core'
import { startSandbox } from '../src/sandbox'
import { generateEngageStream } from '../src/cli/generate'
import { runSync } from '../src/cli/runner'
import { SANDBOX_SETTINGS, withCriteoAt } from './fixtures'
import { RequestTally, SimulatedClock, startLatencyProxy } from './simulated-time'

/**
 * How the stream is ordered. Engage sends each audience's events together ("grouped"), so a batch holds one audience
 * except where two meet; "mixed" interleaves them, so every batch holds every audience.
 */
export type Ordering = 'grouped' | 'mixed'

export interface SyncScenario {
  ordering: Ordering
  /** Batches in flight at once: 1 is sequential; npm start's default is 4. */
  concurrency: number
}

export interface SyncRow extends SyncScenario {
  users: number
  audiences: number
  batchSize: number
  batches: number
  /** Requests Criteo received, 429s and 401s included. */
  requests: number
  byKind: RequestTally
  /** Amendments Criteo accepted (2xx). */
  amendments: number
  rateLimited: number
  unauthorized: number
  simulatedMinutes: number
  realSeconds: number
  synced: number
  errored: number
  retries: number
  /** Sends the runner held back until Criteo's next rate-limit window, instead of sending them into 429s. */
  rateLimitPauses: number
  /** What the lists hold afterwards, all audiences together. */
  listed: number
}

export interface SyncOptions {
  users: number
  audiences: number
  batchSize: number
  /** Simulated time each request takes, from sending it to having its answer. */
  latencyMs: number
  rateLimitPerMinute: number
  scenarios: SyncScenario[]
}

/** A minute boundary, so the sandbox's rate-limit windows start where the run starts. */
const SIMULATION_START = Date.UTC(2026, 10, 23, 9, 0, 0)

function audienceOf(event: SegmentEvent): string {
  return (event.properties as { audience_key: string }).audience_key
}

/** `users` users entering one of `audiences` audiences each, every one with a valid, distinct email. */
export function millionUsersStream(users: number, audiences: number): Record<Ordering, SegmentEvent[]> {
  const names = Array.from({ length: audiences }, (_, i) => `audience_${i + 1}`)
  const mixed = generateEngageStream({
    entered: users,
    exited: 0,
    audiences: names,
    seed: 1,
    missingShare: 0,
    malformedShare: 0,
    duplicateShare: 0
  })
  // Array.prototype.sort is stable: within an audience, events keep their order.
  const grouped = [...mixed].sort((a, b) => names.indexOf(audienceOf(a)) - names.indexOf(audienceOf(b)))
  return { mixed, grouped }
}

function sum(values: Iterable<number>): number {
  let total = 0
  for (const value of values) total += value
  return total
}

async function runScenario(events: SegmentEvent[], scenario: SyncScenario, options: SyncOptions): Promise<SyncRow> {
  const clock = new SimulatedClock(SIMULATION_START)
  const sandbox = await startSandbox({ now: clock.now, rateLimitPerMinute: options.rateLimitPerMinute })
  const proxy = await startLatencyProxy(sandbox.url, clock, options.latencyMs)
  try {
    const started = performance.now()
    const result = await withCriteoAt(proxy.url, () =>
      runSync({
        events,
        settings: SANDBOX_SETTINGS,
        batchSize: options.batchSize,
        concurrency: scenario.concurrency,
        now: clock.now,
        sleep: clock.sleep
      })
    )
    const realSeconds = (performance.now() - started) / 1000
    const counts = sandbox.requestCounts()
    const amendStatuses = proxy.tally.amend ?? {}
    return {
      ...scenario,
      users: options.users,
      audiences: options.audiences,
      batchSize: options.batchSize,
      batches: result.batches,
      requests: sum(Object.values(proxy.tally).flatMap((byStatus) => Object.values(byStatus))),
      byKind: proxy.tally,
      amendments: sum(
        Object.entries(amendStatuses)
          .filter(([status]) => Number(status) < 300)
          .map(([, n]) => n)
      ),
      rateLimited: counts.rateLimited,
      unauthorized: counts.unauthorized,
      simulatedMinutes: result.durationMs / 60_000,
      realSeconds,
      synced: sum(result.audiences.map((a) => a.synced)),
      errored: sum(result.audiences.map((a) => a.errored)),
      retries: result.retries,
      rateLimitPauses: result.rateLimitPauses,
      listed: sum(sandbox.lists().map((list) => list.size))
    }
  } finally {
    await proxy.close()
    await sandbox.close()
  }
}

/**
 * `users` users entering `audiences` audiences, synced end to end through npm start's path (runSync, with its
 * retries) against the sandbox with its rate limit on, in simulated time: every request takes `latencyMs`, back-offs
 * take what they ask for, CPU takes nothing. One row per scenario, each from a fresh sandbox and empty caches.
 */
export async function measureMillionUsers(options: SyncOptions): Promise<SyncRow[]> {
  const streams = millionUsersStream(options.users, options.audiences)
  const rows: SyncRow[] = []
  for (const scenario of options.scenarios) rows.push(await runScenario(streams[scenario.ordering], scenario, options))
  return rows
}
