import { BenchConfig, QUICK, runBenchmarks } from '../../bench/main'
import { combineRuns } from '../../bench/large-batch'
import { checkTargets, failures, formatResults, timeOrderedPairs } from '../../bench/report'
import type { BenchResults } from '../../bench/report'

/**
 * `npm run bench -- --quick`'s code path on tiny inputs, so the benchmarks cannot rot. Only what does not depend on
 * the machine is asserted here; the timings and their targets live in the benchmark's own output.
 */
const TINY: BenchConfig = {
  ...QUICK,
  mode: 'test',
  identifiers: { sizes: [100, 1_000], repetitions: 1 },
  steadyState: { batches: 4, batchSize: 50 },
  cpu: { batches: 3, batchSize: 50, rounds: 1 },
  // The smallest batch that needs two amendments.
  largeBatches: { sizes: [50_001], runs: 1 },
  sync: { ...QUICK.sync, users: 1_000, batchSize: 50 },
  // The side-by-side's code path with this destination on both sides: npm test runs offline, and Segment's package
  // is fetched from the registry (bench/segment-criteo.ts). The stand-in is labelled, and meets no target.
  sideBySide: { batches: 2, batchSize: 50, rounds: 2, warmupRounds: 1, rival: 'stand-in' },
  timeOrdered: { ...QUICK.timeOrdered, sizes: [2_000, 4_000], batchSize: 50 },
  // Two workers for two token lifetimes, at 600× real time: 3 s a variant.
  tokenFleet: { ...QUICK.tokenFleet, workers: 2, batchSize: 5, periodSeconds: 40, windows: 2, speed: 600 }
}

let results: BenchResults

beforeAll(async () => {
  results = await runBenchmarks(TINY)
}, 240_000)

describe('the benchmarks, on tiny inputs', () => {
  it('prepares every identifier into one chunk per audience', () => {
    expect(results.identifiers.rows.map((row) => [row.emails, row.chunks])).toEqual([
      [100, 5],
      [1_000, 5]
    ])
  })

  it('sends exactly one amendment per batch after the first, and no token or lookup request', () => {
    const { afterFirst, steadyBatches, eventsNotOk } = results.steadyState
    expect(afterFirst).toEqual({
      token: 0,
      search: 0,
      create: 0,
      amend: steadyBatches,
      rateLimited: 0,
      unauthorized: 0
    })
    expect(results.steadyState.firstBatch).toMatchObject({ token: 1, search: 1, create: 1, amend: 1 })
    expect(eventsNotOk).toBe(0)
  })

  it('measures CPU through onBatch with every event synced', () => {
    expect(results.cpu.eventsNotOk).toBe(0)
    expect(results.cpu.onBatchCpuMs).toBeGreaterThan(0)
    // So few events may leave the project's own code between two samples: only the profile as a whole is certain.
    expect(results.cpu.profile.totalMs).toBeGreaterThan(0)
  })

  it('sends one amendment per 50,000 identifiers of a large batch, in a process of its own', () => {
    expect(results.largeBatches).toEqual([
      expect.objectContaining({ events: 50_001, amendments: 2, results: 50_001, eventsNotOk: 0 })
    ])
    expect(results.largeBatches[0].peakRss).toBeGreaterThan(results.largeBatches[0].baselineRss)
  })

  it('syncs every user end to end: no 429 with sequential batches, slowing down to the limit rather than failing', () => {
    const { users } = TINY.sync
    const byScenario = Object.fromEntries(results.sync.rows.map((row) => [`${row.ordering}/${row.concurrency}`, row]))
    expect(Object.keys(byScenario)).toEqual(['grouped/1', 'grouped/4', 'mixed/1', 'mixed/4'])
    expect(byScenario['grouped/1'].rateLimited).toBe(0)
    expect(byScenario['mixed/1'].rateLimited).toBe(0)
    for (const row of results.sync.rows) {
      expect({ synced: row.synced, listed: row.listed, errored: row.errored }).toEqual({
        synced: users,
        listed: users,
        errored: 0
      })
    }
    // Four batches at once ask for more than the limit (scaled down with the latency in QUICK): the runner waits for
    // the next window, paced by what Criteo's headers said, instead of sending into 429s.
    expect(byScenario['grouped/4'].rateLimitPauses).toBeGreaterThan(0)
    // Mixed audiences are sorted by audience within each window: hardly more amendments than grouped ones.
    expect(byScenario['mixed/4'].amendments).toBeLessThan(byScenario['grouped/4'].amendments * 1.2)
  })

  it('syncs time-ordered exports exactly, in about the requests of the same events grouped, with memory flat', () => {
    const rows = results.timeOrdered.rows
    expect(rows.map((row) => [row.events, row.ordering])).toEqual([
      [2_000, 'time'],
      [2_000, 'grouped'],
      [4_000, 'time'],
      [4_000, 'grouped']
    ])
    for (const row of rows) {
      expect({ synced: row.synced, errored: row.errored, mismatched: row.mismatched }).toEqual({
        synced: row.events,
        errored: 0,
        mismatched: 0
      })
      expect(row.heapAfterGc).toHaveLength(10)
      expect(row.peakRss).toBeGreaterThan(0)
    }
    const time = rows.filter((row) => row.ordering === 'time')
    expect(time.every((row) => row.exits > 0 && row.superseded > 0)).toBe(true)
    expect(time.map((row) => row.windows)).toEqual([1, 2])
    const [small] = timeOrderedPairs(rows)
    expect(small.time.requests).toBeLessThanOrEqual(small.grouped.requests * 1.5)
  })

  it('runs the side-by-side: every event of both sides synced, costs measured round by round, the stand-in named', () => {
    const outcome = results.sideBySide
    if ('error' in outcome) throw new Error(outcome.error)
    expect(outcome.standIn).toBe(true)
    expect(outcome.eventsNotOk).toEqual({ ours: 0, rival: 0 })
    expect(outcome.rounds).toHaveLength(2)
    for (const round of outcome.rounds) {
      for (const cost of [round.ours, round.rival]) {
        // On 100 events the CPU, less a collection's marking of what is alive, is noise: only its presence is certain.
        expect(Number.isFinite(cost.cpuUs)).toBe(true)
        expect(cost.allocatedBytes).toBeGreaterThan(0)
      }
    }
    // Warm: the token and the list are cached, so each batch is one amendment, through the stub and nowhere else.
    const warm = { token: 0, search: 0, create: 0, amend: 1, other: 0 }
    expect(outcome.requestsPerBatch).toEqual({ ours: warm, rival: warm })
    const report = formatResults(results)
    expect(report).toContain('STAND-IN: both sides are this destination')
    expect(checkTargets(results).filter((check) => check.measure.startsWith('6.'))).toEqual([
      expect.objectContaining({ measure: '6. CPU per event ÷ Segment’s (STAND-IN, not Segment’s)', met: undefined }),
      expect.objectContaining({
        measure: '6. allocation per event ÷ Segment’s (STAND-IN, not Segment’s)',
        met: undefined
      })
    ])
  })

  it('runs a fleet of workers for each way of keeping tokens, every event synced and none ended with a 401', () => {
    const { rows } = results.tokenFleet
    expect(rows.map((row) => row.variant)).toEqual(['worker caches', 'Segment store, plain refresh', 'Segment store'])
    for (const row of rows) {
      expect({ synced: row.synced, notSynced: row.notSynced }).toEqual({ synced: row.events, notSynced: {} })
      expect(row.events).toBe(row.batches * TINY.tokenFleet.batchSize)
      expect(row.tokenRequestsPerWindow).toHaveLength(TINY.tokenFleet.windows)
    }
    const [caches, plain, store] = rows
    // Only the store's hosts keep tokens; each worker keeps its own otherwise, and fetches at least one at the start.
    // How many the fleet fetched later depends on timing (the clock runs 600× real time): the figures are the bench's.
    expect(caches.kept).toBe(0)
    expect(caches.tokenRequestsPerWindow[0]).toBeGreaterThanOrEqual(TINY.tokenFleet.workers)
    expect(plain.kept).toBeGreaterThan(0)
    expect(store.kept).toBeGreaterThan(0)
    expect(formatResults(results)).toContain('8. Token requests of a fleet')
    expect(checkTargets(results).filter((check) => check.measure.startsWith('8.'))).toHaveLength(3)
  })

  it('counts a side-by-side that could not run as a failure of the whole benchmark, never skips it', () => {
    const offline = { ...results, sideBySide: { error: 'Could not fetch @segment/action-destinations@3.497.0' } }
    expect(failures(offline)).toEqual(['6: not measured: Could not fetch @segment/action-destinations@3.497.0'])
    expect(checkTargets(offline).filter((check) => check.measure.startsWith('6.'))).toEqual([
      { measure: '6. side by side with Segment’s destination', figure: 'not measured', target: '', met: false }
    ])
    expect(formatResults(offline)).toContain('6. Side by side with Segment’s criteo-audiences: NOT MEASURED')
  })

  it('meets every machine-independent target, and prints them', () => {
    expect(failures(results)).toEqual([])
    const structural = checkTargets(results).filter(
      (check) => /^[2457]\. /.test(check.measure) && !/RSS|heap|users a minute|simulated time/.test(check.measure)
    )
    expect(structural.filter((check) => check.met !== true)).toEqual([])
    expect(formatResults(results)).toContain('Targets')
  })
})

describe('a large batch run in several processes', () => {
  const run = (peakMb: number, ms: number, amendments = 4) => ({
    ms,
    baselineRss: 150 * 2 ** 20,
    withEventsRss: (200 + peakMb / 100) * 2 ** 20,
    peakRss: peakMb * 2 ** 20,
    results: 200_000,
    eventsNotOk: peakMb === 480 ? 1 : 0,
    amendments
  })

  it('reports the run with the highest peak RSS, the lowest peak beside it, the fastest time and every failure', () => {
    const row = combineRuns(200_000, [run(470, 3_400), run(505, 3_900), run(480, 3_100)])
    expect(row).toEqual({
      events: 200_000,
      runs: 3,
      ms: 3_100,
      baselineRss: 150 * 2 ** 20,
      withEventsRss: 205.05 * 2 ** 20,
      peakRss: 505 * 2 ** 20,
      lowestPeakRss: 470 * 2 ** 20,
      amendments: 4,
      results: 200_000,
      eventsNotOk: 1
    })
    expect(formatResults({ ...results, largeBatches: [row] })).toContain(
      '4. peak RSS, one batch of 200,000, highest of 3 runs'
    )
  })
})
