import { GCProfiler, getHeapStatistics, setFlagsFromString } from 'v8'
import { runInNewContext } from 'vm'
import { Destination } from '@segment/actions-core'
import type { DestinationDefinition, SegmentEvent } from '@segment/actions-core'
import definition from '../src/destinations/criteo-audiences'
import { CriteoStub, StubCounts } from './criteo-stub'
import { profiled } from './cpu'
import { batchSettings, countNotOk, enteredEvents, EventResult, SANDBOX_SETTINGS, withCriteoAt } from './fixtures'
import { segmentContender } from './segment-criteo'
import { ChildScript } from './child'
import { table } from './report'
import type { TargetCheck } from './report'

/** A destination as the side-by-side runs it: its definition, and what Segment passes `onBatch` besides the events. */
export interface Contender {
  label: string
  definition: DestinationDefinition<never>
  /** Settings and the subscription (partnerAction and mapping), as `onBatch`'s second argument. */
  settings: Record<string, unknown>
  /** Part of the path of every file of the destination's own code, for the profile. */
  sourceDir: string
}

/** What one side cost, per event, over the whole input of one round. */
export interface SideCost {
  /** Process CPU (user + system), the full collection of the side's garbage at the end included. */
  cpuUs: number
  /** Bytes allocated on the JavaScript heap. */
  allocatedBytes: number
  /** Of `cpuUs`: the time V8 reported spending in garbage collection (its helper threads' share included). */
  gcUs: number
}

export interface SideBySideOptions {
  batches: number
  batchSize: number
  /** Rounds measured; each runs both sides over the whole input, in alternating order. */
  rounds: number
  /** Rounds run first and not measured, while V8 compiles both sides' hot paths. */
  warmupRounds: number
  /**
   * Who this destination is compared with: Segment's published destination, or (in npm test, which must work
   * offline) this destination itself as a stand-in, which exercises the same code and is labelled as such everywhere.
   */
  rival: 'segment' | 'stand-in'
}

export type SideCategory = (typeof SIDE_CATEGORIES)[number]
type Sides<T> = { ours: T; rival: T }

export interface SideBySideResult {
  ours: string
  rival: string
  standIn: boolean
  batches: number
  batchSize: number
  warmupRounds: number
  rounds: Array<Sides<SideCost>>
  /** Requests each side made per batch in the first measured round: everything cached is already cached. */
  requestsPerBatch: Sides<StubCounts>
  eventsNotOk: Sides<number>
  /** A profiled pass of each side over the whole input, in µs per event by category. */
  profile: Sides<Record<SideCategory, number>>
}

/** The side-by-side's result, or why it could not run (Segment's package could not be fetched, say). */
export type SideBySideOutcome = SideBySideResult | { error: string }

const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
})()

/** `onBatch` of `contender`, every request of it going through the stub. */
export function batcher(contender: Contender, stub: CriteoStub) {
  const agent = stub.agent('https:')
  const base = contender.definition
  const destination = new Destination({
    ...base,
    extendRequest: (data) => ({ ...(base.extendRequest?.(data) ?? {}), agent }) as never
  })
  const settings = contender.settings as unknown as Parameters<Destination['onBatch']>[1]
  return async (events: SegmentEvent[]): Promise<EventResult[]> => {
    const [result] = await destination.onBatch(events, settings)
    return (result as { multistatus: EventResult[] }).multistatus
  }
}

/** CPU microseconds (user + system) that `work` took. */
function cpuOf(work: () => void): number {
  const start = process.cpuUsage()
  work()
  const used = process.cpuUsage(start)
  return used.user + used.system
}

/**
 * What `work` costs: a full collection before (outside the measure: the work starts clean) and one after (inside it:
 * the work pays for all the garbage it made, and none of anyone else's). A full collection also marks everything
 * still alive (the batches, the code, ts-node's compiler), which the work did not make: a second collection on the
 * clean heap costs just that, and is taken off. `events` divides the figures; `work` returns how many failed.
 */
export async function measureCost(
  work: () => Promise<number> | number,
  events: number
): Promise<{ cost: SideCost; notOk: number }> {
  collectGarbage()
  const profiler = new GCProfiler()
  profiler.start()
  const usedAtStart = getHeapStatistics().used_heap_size
  const cpu = process.cpuUsage()
  const notOk = await work()
  collectGarbage()
  const used = process.cpuUsage(cpu)
  const { statistics } = profiler.stop()
  const baseline = new GCProfiler()
  baseline.start()
  const baselineUs = cpuOf(collectGarbage)
  const baselineGcUs = baseline.stop().statistics.reduce((sum, gc) => sum + gc.cost, 0)
  // Allocated: how far the heap grew between collections, each one's "before" less the previous one's "after".
  let allocated = 0
  let after = usedAtStart
  let gcUs = 0
  for (const gc of statistics) {
    allocated += gc.beforeGC.heapStatistics.usedHeapSize - after
    after = gc.afterGC.heapStatistics.usedHeapSize
    gcUs += gc.cost
  }
  return {
    cost: {
      cpuUs: (used.user + used.system - baselineUs) / events,
      allocatedBytes: allocated / events,
      gcUs: (gcUs - baselineGcUs) / events
    },
    notOk
  }
}

/** One side over the whole input. */
function measureSide(send: (events: SegmentEvent[]) => Promise<EventResult[]>, batches: SegmentEvent[][]) {
  const events = batches.reduce((n, batch) => n + batch.length, 0)
  return measureCost(async () => {
    let notOk = 0
    for (const batch of batches) notOk += countNotOk(await send(batch))
    return notOk
  }, events)
}

function perBatch(before: StubCounts, after: StubCounts, batches: number): StubCounts {
  const keys = Object.keys(after) as Array<keyof StubCounts>
  return Object.fromEntries(keys.map((key) => [key, (after[key] - before[key]) / batches])) as unknown as StubCounts
}

/**
 * `ours` and `rival` on the same batches, against the same in-process Criteo, in one process: CPU and allocation per
 * event of each, round by round, the sides' order alternating so that neither always runs first; then one profiled
 * pass of each.
 */
export async function compareSideBySide(
  ours: Contender,
  rival: Contender,
  batches: SegmentEvent[][],
  lists: { advertiserId: string; names: string[] },
  options: Pick<SideBySideOptions, 'rounds' | 'warmupRounds'>
): Promise<Omit<SideBySideResult, 'standIn'>> {
  const held = lists.names.map((name, i) => ({ name, id: String(101 + i) }))
  const stubs = { ours: new CriteoStub(lists.advertiserId, held), rival: new CriteoStub(lists.advertiserId, held) }
  const sides = { ours: batcher(ours, stubs.ours), rival: batcher(rival, stubs.rival) }
  const eventsNotOk = { ours: 0, rival: 0 }
  const rounds: Array<Sides<SideCost>> = []
  let requestsPerBatch: Sides<StubCounts> | undefined
  const events = batches.reduce((n, batch) => n + batch.length, 0)

  for (let round = 0; round < options.warmupRounds + options.rounds; round++) {
    const order = round % 2 === 0 ? (['ours', 'rival'] as const) : (['rival', 'ours'] as const)
    const costs: Partial<Sides<SideCost>> = {}
    const before = { ours: { ...stubs.ours.counts }, rival: { ...stubs.rival.counts } }
    for (const side of order) {
      const { cost, notOk } = await measureSide(sides[side], batches)
      costs[side] = cost
      eventsNotOk[side] += notOk
    }
    if (round < options.warmupRounds) continue
    rounds.push(costs as Sides<SideCost>)
    requestsPerBatch ??= {
      ours: perBatch(before.ours, stubs.ours.counts, batches.length),
      rival: perBatch(before.rival, stubs.rival.counts, batches.length)
    }
  }

  const profile: Partial<Sides<Record<SideCategory, number>>> = {}
  for (const side of ['ours', 'rival'] as const) {
    collectGarbage()
    const samples = await profiled(async () => {
      for (const batch of batches) eventsNotOk[side] += countNotOk(await sides[side](batch))
    })
    const us = attributeSide(samples, (side === 'ours' ? ours : rival).sourceDir)
    profile[side] = Object.fromEntries(SIDE_CATEGORIES.map((c) => [c, us[c] / events])) as Record<SideCategory, number>
  }

  return {
    ours: ours.label,
    rival: rival.label,
    batches: batches.length,
    batchSize: batches[0]?.length ?? 0,
    warmupRounds: options.warmupRounds,
    rounds,
    requestsPerBatch: requestsPerBatch as Sides<StubCounts>,
    eventsNotOk,
    profile: profile as Sides<Record<SideCategory, number>>
  }
}

const AUDIENCE = 'side_by_side_audience'
const STUB_URL = 'https://localhost'
/** Distinct batches built; the input cycles through them, which keeps what is alive (and a collection's marking) small. */
const DISTINCT_BATCHES = 10

/**
 * The side-by-side itself, in this process: this destination with its presets against Segment's destination (or the
 * stand-in), on batches of Engage's "Audience Entered" events with an email each.
 */
export async function runSideBySide(options: SideBySideOptions): Promise<SideBySideOutcome> {
  const ours: Contender = {
    label: 'this destination',
    definition: definition,
    settings: batchSettings('add'),
    sourceDir: '/src/destinations/'
  }
  let rival: Contender
  try {
    rival =
      options.rival === 'segment'
        ? segmentContender(SANDBOX_SETTINGS)
        : { ...ours, label: 'this destination again, as a stand-in for Segment’s (npm test runs offline)' }
  } catch (error) {
    return { error: (error as Error).message }
  }
  const pool = Array.from({ length: Math.min(DISTINCT_BATCHES, options.batches) }, (_, b) =>
    enteredEvents(options.batchSize, AUDIENCE, b * options.batchSize)
  )
  const batches = Array.from({ length: options.batches }, (_, b) => pool[b % pool.length])
  // Every request of both sides goes through the stub's agent, whatever its host: none leaves the process. Segment's
  // destination names api.criteo.com; this one is pointed at localhost, the one host npm test's nock lets through.
  const result = await withCriteoAt(STUB_URL, () =>
    compareSideBySide(
      ours,
      rival,
      batches,
      { advertiserId: SANDBOX_SETTINGS.advertiser_id, names: [AUDIENCE] },
      options
    )
  )
  return { ...result, standIn: options.rival !== 'segment' }
}

/**
 * `runSideBySide` in a fresh process (bench/processes/side-by-side.ts): both sides start cold, on a heap that holds
 * nothing of the other measures, and a crash or a missing package comes back as the outcome's error.
 */
export async function measureSideBySide(options: SideBySideOptions): Promise<SideBySideOutcome> {
  const child = new ChildScript('side-by-side.ts', [JSON.stringify(options)])
  try {
    const outcome = await child.next<SideBySideOutcome>()
    await child.end()
    return outcome
  } catch (error) {
    return { error: (error as Error).message }
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

export interface Ratio {
  median: number
  min: number
  max: number
}

/** This destination's cost over the rival's, round by round: the median and the spread. */
export function ratiosOf(result: SideBySideResult): { cpu: Ratio; allocation: Ratio } {
  const of = (pick: (cost: SideCost) => number): Ratio => {
    const ratios = result.rounds.map((round) => pick(round.ours) / pick(round.rival))
    return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) }
  }
  return { cpu: of((cost) => cost.cpuUs), allocation: of((cost) => cost.allocatedBytes) }
}

export const SIDE_BY_SIDE_TARGETS = { cpu: 0.9, allocation: 1.1 }

/** Where a side's CPU goes, in the profiled pass: actions-core's three steps before `performBatch`, then the rest. */
export const SIDE_CATEGORIES = [
  'mapping (transformBatch)',
  'removeEmptyValues',
  'schema validation',
  'destination',
  'http client',
  'other actions-core',
  'node runtime',
  'garbage collector'
] as const

const STEP_OF: Record<string, SideCategory> = {
  transformBatch: 'mapping (transformBatch)',
  removeEmptyValues: 'removeEmptyValues',
  validateSchema: 'schema validation'
}

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/**
 * Microseconds per category. A sample under one of actions-core's steps counts for that step, whatever it called;
 * any other counts for the first frame from the leaf up that lies in the destination (`destinationDir`, zod included),
 * the HTTP client or actions-core; one with none of those is node's own (sockets, streams, timers). Samples that reach
 * the harness (bench/) through none of those are the harness's own, and left out.
 */
export function attributeSide(profile: Profile, destinationDir: string): Record<SideCategory, number> {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const parents = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id)
  const us = Object.fromEntries(SIDE_CATEGORIES.map((c) => [c, 0])) as Record<SideCategory, number>
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0
    const leaf = nodes.get(id)?.callFrame.functionName
    if (leaf === undefined || leaf === '(idle)' || leaf === '(program)') return
    if (leaf === '(garbage collector)') {
      us['garbage collector'] += delta
      return
    }
    let step: SideCategory | undefined
    let first: SideCategory | undefined
    for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
      const frame = nodes.get(at)?.callFrame
      if (!frame) break
      const inDestination = frame.url.includes(destinationDir) || frame.url.includes('/node_modules/zod/')
      if (!inDestination && frame.url.includes('/bench/')) {
        if (step === undefined && first === undefined) return
        break
      }
      if (frame.url.includes('/node_modules/@segment/actions-core/') && STEP_OF[frame.functionName]) {
        step = STEP_OF[frame.functionName]
      }
      if (first) continue
      if (inDestination) first = 'destination'
      else if (frame.url.includes('/node_modules/node-fetch/') || frame.url.includes('/node_modules/cross-fetch/'))
        first = 'http client'
      else if (frame.url.includes('/node_modules/@segment/actions-core/')) first = 'other actions-core'
    }
    us[step ?? first ?? 'node runtime'] += delta
  })
  return us
}

const fixed = (n: number, digits = 2) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const times = (ratio: number) => `${fixed(ratio)}×`
const spread = (ratio: Ratio) => `${fixed(ratio.min)}–${times(ratio.max)}`

/** The section of the benchmark's report: the comparison, then where each side's CPU went. */
export function formatSideBySide(outcome: SideBySideOutcome): string[] {
  if ('error' in outcome) return ['6. Side by side with Segment’s criteo-audiences: NOT MEASURED', outcome.error]
  const { cpu, allocation } = ratiosOf(outcome)
  const sideMedian = (side: 'ours' | 'rival', pick: (cost: SideCost) => number) =>
    median(outcome.rounds.map((round) => pick(round[side])))
  const requests = (counts: StubCounts) => fixed(counts.token + counts.search + counts.create + counts.amend, 2)
  const out = [
    `6. Side by side: ${outcome.ours} against ${outcome.rival}, the same ${outcome.batches} batches of ` +
      `${outcome.batchSize.toLocaleString('en-US')} Audience Entered events through Destination.onBatch, the same ` +
      `in-process Criteo, one process; ${outcome.rounds.length} rounds (after ${outcome.warmupRounds} to warm up), ` +
      'the sides alternating, each charged the full collection of its own garbage'
  ]
  if (outcome.standIn) out.push('STAND-IN: both sides are this destination; these are not figures against Segment’s.')
  out.push(
    table(
      ['per event', 'this destination', 'the other', 'ratio (median)', 'ratio over rounds'],
      [
        [
          'CPU',
          `${fixed(sideMedian('ours', (c) => c.cpuUs))} µs`,
          `${fixed(sideMedian('rival', (c) => c.cpuUs))} µs`,
          times(cpu.median),
          spread(cpu)
        ],
        [
          'allocated',
          `${fixed(sideMedian('ours', (c) => c.allocatedBytes) / 1024)} KB`,
          `${fixed(sideMedian('rival', (c) => c.allocatedBytes) / 1024)} KB`,
          times(allocation.median),
          spread(allocation)
        ],
        [
          'of the CPU: garbage collection',
          `${fixed(sideMedian('ours', (c) => c.gcUs))} µs`,
          `${fixed(sideMedian('rival', (c) => c.gcUs))} µs`,
          '',
          ''
        ],
        [
          'requests per batch',
          requests(outcome.requestsPerBatch.ours),
          requests(outcome.requestsPerBatch.rival),
          '',
          ''
        ]
      ]
    ),
    '',
    'Where the CPU went, one profiled pass each (main thread; µs per event):',
    table(
      ['', 'this destination', 'the other'],
      [
        ...SIDE_CATEGORIES.map((category) => [
          category,
          fixed(outcome.profile.ours[category]),
          fixed(outcome.profile.rival[category])
        ]),
        [
          'total',
          fixed(SIDE_CATEGORIES.reduce((sum, c) => sum + outcome.profile.ours[c], 0)),
          fixed(SIDE_CATEGORIES.reduce((sum, c) => sum + outcome.profile.rival[c], 0))
        ]
      ]
    )
  )
  return out
}

/** The two targets for the side-by-side: met by the median over rounds. */
export function sideBySideChecks(outcome: SideBySideOutcome): TargetCheck[] {
  if ('error' in outcome) {
    return [{ measure: '6. side by side with Segment’s destination', figure: 'not measured', target: '', met: false }]
  }
  const { cpu, allocation } = ratiosOf(outcome)
  const against = outcome.standIn ? ' (STAND-IN, not Segment’s)' : ''
  const check = (what: string, ratio: Ratio, target: number): TargetCheck => ({
    measure: `6. ${what} per event ÷ Segment’s${against}`,
    figure: `${times(ratio.median)} (${spread(ratio)} over ${outcome.rounds.length} rounds)`,
    target: `≤ ${times(target)}`,
    met: outcome.standIn ? undefined : ratio.median <= target
  })
  return [check('CPU', cpu, SIDE_BY_SIDE_TARGETS.cpu), check('allocation', allocation, SIDE_BY_SIDE_TARGETS.allocation)]
}

/** What makes the side-by-side worthless: it did not run, or a side's events were not all synced. */
export function sideBySideFailures(outcome: SideBySideOutcome): string[] {
  if ('error' in outcome) return [`6: not measured: ${outcome.error}`]
  const { ours, rival } = outcome.eventsNotOk
  return ours + rival > 0 ? [`6: events not synced: ${ours} of this destination's, ${rival} of the other's`] : []
}
