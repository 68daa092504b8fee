import { ChildScript } from './child'
import { table } from './report'
import type { TargetCheck } from './report'

/**
 * 8. Token requests a fleet makes. Segment runs a destination instance's batches on many workers; how many token
 * requests they make per token lifetime depends on where the token is kept:
 * - `worker caches`: each worker keeps its own (a host that keeps none: no `oauth` in the settings);
 * - `Segment store, plain refresh`: Segment's store (the token held now, read into each batch's `settings.oauth`,
 *   kept through `onTokenRefresh`, refreshes taking turns through `synchronizeRefreshAccessToken`), with a
 *   `refreshAccessToken` that asks the token endpoint every time, as most oauth2 destinations' do;
 * - `Segment store`: the same store, with this destination's own `refreshAccessToken` and token handling.
 * Each runs in a fresh process (bench/processes/token-fleet.ts), with the same schedule of batches.
 */
export type FleetVariant = 'worker caches' | 'Segment store, plain refresh' | 'Segment store'

export const FLEET_VARIANTS: readonly FleetVariant[] = [
  'worker caches',
  'Segment store, plain refresh',
  'Segment store'
]

export interface TokenFleetOptions {
  workers: number
  /** Batches each worker has in flight at once (each on its own schedule). */
  concurrency: number
  batchSize: number
  /** Simulated seconds between the batches of one worker slot. */
  periodSeconds: number
  /** Token lifetimes (Criteo's 900 s) to run for: the first holds the start, when no worker has a token yet. */
  windows: number
  /** How much faster than real time the simulated clock runs. */
  speed: number
  /** Simulated milliseconds Criteo takes to answer an API call, and its token endpoint. */
  latencyMs: number
  tokenLatencyMs: number
  seed: number
}

export type FleetConfig = TokenFleetOptions & { variant: FleetVariant }

export interface FleetResult {
  variant: FleetVariant
  /** Token requests in each window of 900 simulated seconds, the first starting with the run. */
  tokenRequestsPerWindow: number[]
  batches: number
  events: number
  synced: number
  /** Events that ended with another status, by status. */
  notSynced: Record<string, number>
  /** Calls Criteo answered 401 (an expired token). */
  unauthorized: number
  /** Tokens the hosts kept (`onTokenRefresh`). */
  kept: number
  /** Batches actions-core ran twice, a token asked for in between. */
  rerun: number
  realSeconds: number
}

export interface TokenFleetOutcome {
  options: TokenFleetOptions
  rows: FleetResult[]
}

export async function measureTokenFleet(options: TokenFleetOptions): Promise<TokenFleetOutcome> {
  const rows: FleetResult[] = []
  for (const variant of FLEET_VARIANTS) {
    const child = new ChildScript('token-fleet.ts', [JSON.stringify({ ...options, variant })])
    rows.push(await child.next<FleetResult>())
    await child.end()
  }
  return { options, rows }
}

/** Token requests per window once the fleet is running: every window but the first, which holds the start. */
export function steadyTokenRequests(row: FleetResult): number {
  const later = row.tokenRequestsPerWindow.slice(1)
  return later.reduce((sum, n) => sum + n, 0) / later.length
}

const fixed = (n: number) => n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
const count = (n: number) => n.toLocaleString('en-US')

function notSyncedOf(row: FleetResult): number {
  return Object.values(row.notSynced).reduce((sum, n) => sum + n, 0)
}

export function formatTokenFleet({ options, rows }: TokenFleetOutcome): string[] {
  const fleetRate = (options.workers * options.concurrency) / options.periodSeconds
  return [
    `8. Token requests of a fleet: ${options.workers} workers (module instances of their own, one process) × ` +
      `${options.concurrency} batches in flight, each slot a batch of ${options.batchSize} every ` +
      `${options.periodSeconds} s (${fixed(fleetRate)} batches/s fleet-wide), ${options.windows} token lifetimes of ` +
      `900 s, SIMULATED time (${options.speed}× real): Criteo answers in ${count(options.latencyMs)} ms, its token ` +
      `endpoint in ${count(options.tokenLatencyMs)} ms`,
    table(
      [
        'tokens kept in',
        'per window after the first',
        'each window',
        'calls answered 401',
        'batches run twice',
        'batches',
        'not synced',
        'real s'
      ],
      rows.map((row) => [
        row.variant,
        fixed(steadyTokenRequests(row)),
        row.tokenRequestsPerWindow.join(', '),
        count(row.unauthorized),
        count(row.rerun),
        count(row.batches),
        count(notSyncedOf(row)),
        fixed(row.realSeconds)
      ])
    )
  ]
}

/** The figure: with Segment's store, one token request per token lifetime, fleet-wide. */
export function tokenFleetChecks({ options, rows }: TokenFleetOutcome): TargetCheck[] {
  return rows.map((row) => {
    const store = row.variant === 'Segment store'
    return {
      measure: `8. token requests per 900 s, ${options.workers} workers, ${row.variant}`,
      figure: fixed(steadyTokenRequests(row)),
      target: store ? '1' : '',
      met: store ? steadyTokenRequests(row) <= 1 : undefined
    }
  })
}

/** What makes the fleet's figures worthless: an event not synced, or ended with a 401 (which Segment drops). */
export function tokenFleetFailures({ rows }: TokenFleetOutcome): string[] {
  return rows.flatMap((row) => {
    const notSynced = notSyncedOf(row)
    return notSynced > 0 || row.synced !== row.events
      ? [`8, ${row.variant}: ${notSynced} of ${row.events} events not synced (${JSON.stringify(row.notSynced)})`]
      : []
  })
}
