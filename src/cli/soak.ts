#!/usr/bin/env node
/**
 * The soak: a known sequence of entries and exits, pushed through the destination against a sandbox that fails
 * a share of its requests, retried the way Segment does. At the end every list must hold exactly its members.
 * `npm run soak` runs the long version; test/reliability/soak.test.ts runs a short one in `npm test`.
 */
import { parseArgs } from 'util'
import type { SegmentEvent } from '@segment/actions-core'
import { DEFAULT_VARIANT_RATE, startSandbox } from '../sandbox'
import { pointDestinationAt, SANDBOX_SETTINGS } from './sandbox-target'
import type { FaultKind } from '../sandbox'
import { prepareEmail } from '../destinations/criteo-audiences/identifiers'
import { resetCriteoCaches } from '../destinations/criteo-audiences/criteo/client'
import { engageEvent, EventMode, random } from './generate'
import { RUN_DEFAULTS, runSync, SyncResult } from './runner'
import { joinNegativeNumbers, wholeNumber } from './main'

export interface SoakStreamOptions {
  events: number
  audiences: number
  /** Users drawn from; fewer users than events means the same users enter and exit again and again. */
  users: number
  /** Waves alternate entries and exits; each wave holds events of one kind, in random order. */
  waves: number
  seed?: number
  /** Track events (the default) or Identify events. */
  mode?: EventMode
}

/**
 * Entries and exits of the same users, interleaved wave by wave: users enter, some exit, some enter again, others
 * enter other audiences. Exits are only ever for users who are members at that point, as Engage sends them.
 */
export function generateSoakStream(options: SoakStreamOptions): SegmentEvent[] {
  const { events: total, audiences, users, waves, seed = 11, mode = 'track' } = options
  const rand = random(seed)
  const audienceNames = Array.from({ length: audiences }, (_, i) => `soak_audience_${i}`)
  const members = audienceNames.map(() => new Set<number>())
  const events: SegmentEvent[] = []
  const perWave = Math.ceil(total / waves)
  for (let wave = 0; wave < waves && events.length < total; wave++) {
    const entering = wave % 2 === 0
    const waveEnd = wave === waves - 1 ? total : Math.min(total, (wave + 1) * perWave)
    while (events.length < waveEnd) {
      const a = Math.floor(rand() * audiences)
      if (entering) {
        const user = Math.floor(rand() * users)
        members[a].add(user)
        // Now and then the same email in another case: the same user, once more.
        const email = rand() < 0.05 ? `SOAK.User${user}@Example.com` : `soak.user${user}@example.com`
        events.push(engageEvent(`u${user}`, audienceNames[a], true, email, events.length, mode))
      } else {
        if (members.every((m) => m.size === 0)) break
        if (members[a].size === 0) continue
        const pool = [...members[a]]
        const user = pool[Math.floor(rand() * pool.length)]
        members[a].delete(user)
        events.push(
          engageEvent(`u${user}`, audienceNames[a], false, `soak.user${user}@example.com`, events.length, mode)
        )
      }
    }
  }
  return events
}

/** What one Engage event says: its user (by email) entered or exited an audience. */
export interface AudienceChange {
  audience: string
  entered: boolean
  email: unknown
}

/**
 * Reads an Engage event the way Engage means it, written apart from the runner so that tests can check it: an
 * Audience Entered or Exited track event (true or false under the audience key, when there is one, says which), or
 * an Identify of an audience with true or false under the audience key in its traits. Anything else says nothing.
 */
export function audienceChangeOf(event: SegmentEvent): AudienceChange | undefined {
  const personas = (event.context?.personas ?? {}) as { computation_class?: unknown; computation_key?: unknown }
  const key =
    typeof personas.computation_key === 'string' && personas.computation_key !== ''
      ? personas.computation_key
      : undefined
  const isAudience = personas.computation_class === 'audience' || personas.computation_class === 'journey_step'
  const properties = (event.properties ?? {}) as Record<string, unknown>
  const traits = (event.traits ?? {}) as Record<string, unknown>
  const contextEmail = (event.context?.traits as { email?: unknown } | undefined)?.email
  const email = contextEmail === undefined || contextEmail === null || contextEmail === '' ? traits.email : contextEmail
  const audienceKey =
    typeof properties.audience_key === 'string' && properties.audience_key !== '' ? properties.audience_key : key
  if (event.type === 'track' && (event.event === 'Audience Entered' || event.event === 'Audience Exited')) {
    const said = isAudience && key !== undefined ? properties[key] : undefined
    const entered = typeof said === 'boolean' ? said : event.event === 'Audience Entered'
    return { audience: audienceKey ?? '', entered, email }
  }
  if (event.type === 'identify' && personas.computation_class === 'audience' && key !== undefined) {
    const said = traits[key]
    if (typeof said === 'boolean') return { audience: audienceKey ?? key, entered: said, email }
  }
  return undefined
}

/** The membership a perfect sync ends with: each valid event applied in stream order, hashed as the destination does. */
export function expectedMembership(events: readonly SegmentEvent[]): Map<string, Set<string>> {
  const lists = new Map<string, Set<string>>()
  for (const event of events) {
    const change = audienceChangeOf(event)
    if (!change) continue
    const prepared = prepareEmail(change.email, true)
    if (!lists.has(change.audience)) lists.set(change.audience, new Set())
    if (!prepared.ok) continue
    if (change.entered) lists.get(change.audience)?.add(prepared.value)
    else lists.get(change.audience)?.delete(prepared.value)
  }
  return lists
}

export interface SoakResult {
  events: number
  sync: SyncResult
  requests: Record<string, number>
  faults: Record<string, number>
  /** Contract-allowed variants the sandbox served (warnings, nulls, names reported taken, read-only lists), by kind. */
  variants: Record<string, number>
  /** Per audience: members missing from the list, and members in it that should not be. Empty when exact. */
  mismatches: Array<{ audience: string; missing: number; extra: number }>
  duplicateLists: string[]
  unexpectedLists: string[]
}

const SOAK_WINDOW_BATCHES = 4

/** Runs the soak against a fresh sandbox on a simulated clock, so waits for rate-limit windows cost no real time. */
export async function runSoak(
  stream: SoakStreamOptions,
  {
    faultRate = 0.1,
    faultKinds = undefined as FaultKind[] | undefined,
    variantRate = DEFAULT_VARIANT_RATE,
    batchSize = RUN_DEFAULTS.batchSize,
    concurrency = RUN_DEFAULTS.concurrency,
    maxAttempts = 12,
    windowSize = undefined as number | undefined
  } = {}
): Promise<SoakResult> {
  const events = generateSoakStream(stream)
  let clock = Date.UTC(2026, 10, 22, 12, 0, 0)
  const sandbox = await startSandbox({
    now: () => clock,
    faults: { rate: faultRate, kinds: faultKinds, seed: stream.seed ?? 11 },
    variants: { rate: variantRate, seed: stream.seed ?? 11 }
  })
  // A connection reset costs the client a whole timeout: keep it short, the sandbox answers in milliseconds.
  const restoreTarget = pointDestinationAt(sandbox.url, 1000)
  resetCriteoCaches()
  try {
    const settings = SANDBOX_SETTINGS
    const sync = await runSync({
      events,
      settings,
      batchSize,
      concurrency,
      maxAttempts,
      // Windows of 4 batches, not npm start's 50: the same users' entries and exits then fall in many windows one
      // after another, with faults and retries between them, which is what the soak is for.
      windowSize: windowSize ?? batchSize * SOAK_WINDOW_BATCHES,
      backoffMs: 200,
      now: () => clock,
      sleep: async (ms) => {
        clock += ms
      }
    })
    // Faults are over: what is in the lists now is what the sync left there.
    sandbox.setFaults(undefined)
    const expected = expectedMembership(events)
    // Read-only lists are the sandbox's own (the readOnlyList variant), shared with the advertiser: not the sync's.
    const lists = sandbox.lists(settings.advertiser_id).filter((list) => !list.readOnly)
    const names = lists.map((l) => l.name)
    const mismatches: SoakResult['mismatches'] = []
    for (const [audience, members] of expected) {
      const list = lists.find((l) => l.name === audience)
      const actual = new Set(list ? sandbox.members(list.id) : [])
      const missing = [...members].filter((m) => !actual.has(m)).length
      const extra = [...actual].filter((m) => !members.has(m)).length
      if (missing || extra) mismatches.push({ audience, missing, extra })
    }
    return {
      events: events.length,
      sync,
      requests: sandbox.requestCounts(),
      faults: Object.fromEntries(Object.entries(sandbox.faultCounts()).filter(([, n]) => n > 0)),
      variants: Object.fromEntries(Object.entries(sandbox.variantCounts()).filter(([, n]) => n > 0)),
      mismatches,
      duplicateLists: names.filter((name, i) => names.indexOf(name) !== i),
      unexpectedLists: names.filter((name) => !expected.has(name))
    }
  } finally {
    await sandbox.close()
    restoreTarget()
  }
}

/** Every list exact and no event errored, over a soak that synced something: a soak of nothing proves nothing. */
export function soakPassed(result: SoakResult): boolean {
  return (
    result.events > 0 &&
    result.mismatches.length === 0 &&
    result.duplicateLists.length === 0 &&
    result.unexpectedLists.length === 0 &&
    result.sync.audiences.every((a) => a.errored === 0)
  )
}

/** A share from 0 to 1, or the line that says why not. */
function share(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  const rate = value.trim() === '' ? NaN : Number(value)
  if (!(rate >= 0 && rate <= 1)) throw new Error(`--${name} takes a share from 0 to 1, not "${value}".`)
  return rate
}

/** `npm run soak`'s options, checked as `npm start` checks its own: a value that makes no sense is refused. */
export function soakOptions(argv: string[]) {
  const options = {
    events: { type: 'string' },
    'fault-rate': { type: 'string' },
    'variant-rate': { type: 'string' },
    seed: { type: 'string' }
  } as const
  const { values } = parseArgs({
    args: joinNegativeNumbers(argv, Object.keys(options)),
    options,
    strict: true,
    allowPositionals: false
  })
  return {
    events: wholeNumber('events', values.events, 100_000, 1),
    seed: wholeNumber('seed', values.seed, 11, 0),
    faultRate: share('fault-rate', values['fault-rate'], 0.1),
    variantRate: share('variant-rate', values['variant-rate'], DEFAULT_VARIANT_RATE)
  }
}

if (require.main === module) {
  let options: ReturnType<typeof soakOptions>
  try {
    options = soakOptions(process.argv.slice(2))
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`)
    process.exit(2)
  }
  const { events, seed, faultRate, variantRate } = options
  const started = Date.now()
  runSoak({ events, audiences: 5, users: Math.ceil(events / 4), waves: 9, seed }, { faultRate, variantRate }).then(
    (result) => {
      const synced = result.sync.audiences.reduce((n, a) => n + a.synced, 0)
      const errored = result.sync.audiences.reduce((n, a) => n + a.errored, 0)
      console.log(
        `Soak: ${result.events.toLocaleString('en-US')} events over 5 audiences, ${(Date.now() - started) / 1000} s`
      )
      console.log(`  synced ${synced}, errored ${errored}, event retries ${result.sync.retries}`)
      console.log(`  requests: ${JSON.stringify(result.requests)}`)
      console.log(`  faults injected: ${JSON.stringify(result.faults)}`)
      console.log(`  variants served: ${JSON.stringify(result.variants)}`)
      console.log(`  lists exact: ${result.mismatches.length === 0 ? 'yes' : JSON.stringify(result.mismatches)}`)
      console.log(
        `  duplicate lists: ${result.duplicateLists.length}, unexpected lists: ${result.unexpectedLists.length}`
      )
      const passed = soakPassed(result)
      console.log(passed ? 'PASS: every list holds exactly its members.' : 'FAIL')
      process.exit(passed ? 0 : 1)
    },
    (error: Error) => {
      process.stderr.write(`${error.stack ?? error.message}\n`)
      process.exit(1)
    }
  )
}
