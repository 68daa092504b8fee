/**
 * `npm run bench`: what a synced user costs in requests, CPU and memory. `-- --quick` runs a smaller version;
 * `-- --json` prints the figures as JSON instead of tables. See BENCHMARKS.md for what the figures mean.
 */
import { availableParallelism, cpus, loadavg, totalmem } from 'os'
import { parseArgs } from 'util'
import { CRITEO_REQUESTS_PER_MINUTE } from '../src/destinations/criteo-audiences/limits'
import { measureCpuPerEvent } from './cpu'
import { measureIdentifierPreparation } from './identifiers'
import { measureLargeBatches } from './large-batch'
import { measureMillionUsers, SyncOptions, SyncScenario } from './million'
import { BenchResults, failures, formatResults, Machine } from './report'
import { measureSteadyState } from './steady-state'
import { measureSideBySide, SideBySideOptions } from './side-by-side'
import { measureTimeOrdered, TimeOrderedOptions } from './time-ordered'
import { measureTokenFleet, TokenFleetOptions } from './token-fleet'

export interface BenchConfig {
  mode: string
  identifiers: { sizes: number[]; repetitions: number }
  steadyState: { batches: number; batchSize: number }
  cpu: { batches: number; batchSize: number; rounds: number }
  largeBatches: { sizes: number[]; runs: number }
  sync: SyncOptions
  sideBySide: SideBySideOptions
  timeOrdered: TimeOrderedOptions
  tokenFleet: TokenFleetOptions
}

const SCENARIOS: SyncScenario[] = [
  { ordering: 'grouped', concurrency: 1 },
  { ordering: 'grouped', concurrency: 4 },
  { ordering: 'mixed', concurrency: 1 },
  { ordering: 'mixed', concurrency: 4 }
]

export const FULL: BenchConfig = {
  mode: 'full',
  identifiers: { sizes: [1_000, 100_000, 1_000_000], repetitions: 5 },
  steadyState: { batches: 100, batchSize: 1_000 },
  cpu: { batches: 100, batchSize: 1_000, rounds: 3 },
  // Peak RSS lands tens of MB apart from one process to the next: the table gives the highest of 3.
  largeBatches: { sizes: [50_000, 100_000, 200_000], runs: 3 },
  // 300 ms a request is a modelled round trip to Criteo for an amendment of 1,000 identifiers (about 70 KB).
  sync: {
    users: 1_000_000,
    audiences: 5,
    batchSize: 1_000,
    latencyMs: 300,
    rateLimitPerMinute: CRITEO_REQUESTS_PER_MINUTE,
    scenarios: SCENARIOS
  },
  sideBySide: { batches: 100, batchSize: 1_000, rounds: 9, warmupRounds: 2, rival: 'segment' },
  // A Segment export: 5 audiences, 15% exits interleaved in time order, a third as many users as events.
  timeOrdered: {
    sizes: [300_000, 1_000_000],
    audiences: 5,
    exitShare: 0.15,
    usersPerEvent: 1 / 3,
    batchSize: 1_000,
    concurrency: 4,
    latencyMs: 300,
    rateLimitPerMinute: CRITEO_REQUESTS_PER_MINUTE
  },
  // 8 workers of 2 slots, a batch every 4 s each: 4 batches a second, about what Criteo's 250 requests a minute allow
  // one app at one amendment a batch. 300 ms a call, as in 5. At 50× real time, a token lifetime takes 18 s.
  tokenFleet: {
    workers: 8,
    concurrency: 2,
    batchSize: 20,
    periodSeconds: 4,
    windows: 3,
    speed: 50,
    latencyMs: 300,
    tokenLatencyMs: 150,
    seed: 15
  }
}

/**
 * The same measures, smaller. The sync keeps the full run's ratio of latency to rate limit (a sequential sync stays
 * 20% under the limit) with a lower limit, so that a run this short still reaches it when batches overlap.
 */
export const QUICK: BenchConfig = {
  mode: 'quick',
  identifiers: { sizes: [1_000, 10_000, 100_000], repetitions: 3 },
  steadyState: { batches: 20, batchSize: 1_000 },
  cpu: { batches: 20, batchSize: 1_000, rounds: 2 },
  largeBatches: { sizes: [10_000, 50_001], runs: 1 },
  sync: {
    users: 20_000,
    audiences: 5,
    batchSize: 1_000,
    latencyMs: 3_000,
    rateLimitPerMinute: 25,
    scenarios: SCENARIOS
  },
  sideBySide: { batches: 20, batchSize: 1_000, rounds: 5, warmupRounds: 1, rival: 'segment' },
  timeOrdered: {
    sizes: [30_000, 100_000],
    audiences: 5,
    exitShare: 0.15,
    usersPerEvent: 1 / 3,
    batchSize: 1_000,
    concurrency: 4,
    latencyMs: 3_000,
    rateLimitPerMinute: 25
  },
  tokenFleet: { ...FULL.tokenFleet, windows: 2, speed: 100 }
}

export function machine(): Machine {
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    memoryGb: totalmem() / 2 ** 30,
    loadAverage: loadavg()[0]
  }
}

/** Runs every measure in turn, heaviest last, reporting progress through `log`. */
export async function runBenchmarks(
  config: BenchConfig,
  log: (line: string) => void = () => undefined
): Promise<BenchResults> {
  const started = performance.now()
  // Taken before anything runs: other work on the machine shows here, and skews every timing.
  const before = machine()
  log('1/8 identifier preparation')
  const identifiers = measureIdentifierPreparation(config.identifiers)
  log('2/8 requests per batch at steady state')
  const steadyState = await measureSteadyState(config.steadyState)
  log('3/8 CPU per 1,000 events')
  const cpu = await measureCpuPerEvent(config.cpu)
  log('4/8 large batches')
  const largeBatches = await measureLargeBatches(config.largeBatches)
  log(`5/8 ${config.sync.users.toLocaleString('en-US')} users end to end (${config.sync.scenarios.length} scenarios)`)
  const syncRows = await measureMillionUsers(config.sync)
  log('6/8 side by side with Segment’s criteo-audiences')
  const sideBySide = await measureSideBySide(config.sideBySide)
  const sizes = config.timeOrdered.sizes.map((n) => n.toLocaleString('en-US')).join(' and ')
  log(`7/8 time-ordered exports of ${sizes} events, each in time order and grouped, each in a process of its own`)
  const timeOrdered = await measureTimeOrdered(config.timeOrdered)
  log(`8/8 token requests of ${config.tokenFleet.workers} workers`)
  const tokenFleet = await measureTokenFleet(config.tokenFleet)
  return {
    mode: config.mode,
    machine: before,
    realSeconds: (performance.now() - started) / 1000,
    identifiers,
    steadyState,
    cpu,
    largeBatches,
    sync: { options: config.sync, rows: syncRows },
    sideBySide,
    timeOrdered: { options: config.timeOrdered, rows: timeOrdered },
    tokenFleet
  }
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { quick: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
    strict: true
  })
  const config = values.quick ? QUICK : FULL
  const results = await runBenchmarks(config, (line) => process.stderr.write(`${line}…\n`))
  process.stdout.write(values.json ? `${JSON.stringify(results, null, 2)}\n` : `${formatResults(results)}\n`)
  // Missed performance targets are findings; events that were not synced make the figures worthless.
  return failures(results).length > 0 ? 1 : 0
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`${error.stack ?? error.message}\n`)
      process.exit(1)
    }
  )
}
