import { Session } from 'inspector'
import type { RequestClient, SegmentEvent } from '@segment/actions-core'
import { syncEvents, toMultiStatus } from '../src/destinations/criteo-audiences/sync'
import type { AudienceEvent } from '../src/destinations/criteo-audiences/plan'
import { mapEvents, presetFor } from '../src/cli/runner'
import { audienceEventsOf } from '../src/destinations/criteo-audiences/payload'
import type { Payload } from '../src/destinations/criteo-audiences/addUserToAudience/generated-types'
import { startSandboxProcess } from './child'
import { countNotOk, enteredEvents, measureCpu, SANDBOX_SETTINGS, segmentBatcher, withCriteoAt } from './fixtures'

/** Where a CPU sample's time goes: to the first frame, from the leaf up, that lies in one of these. */
export const CPU_CATEGORIES = [
  'project',
  'zod',
  'actions-core',
  'http client',
  'other dependencies',
  'node runtime',
  'garbage collector'
] as const
export type CpuCategory = (typeof CPU_CATEGORIES)[number]

export interface ProfileBreakdown {
  /** Milliseconds of samples per category (idle time and the harness left out). */
  ms: Record<CpuCategory, number>
  totalMs: number
  /** The project's functions that cost the most, with what they call in node and V8 counted in. */
  topProjectFunctions: Array<{ name: string; ms: number }>
}

export interface CpuResult {
  batches: number
  batchSize: number
  /** CPU and wall time of `Destination.onBatch` per 1,000 events, mapping and validation by actions-core included. */
  onBatchCpuMs: number
  onBatchWallMs: number
  /** CPU time of the project's own part on the same payloads, HTTP stubbed: `syncEvents` + `toMultiStatus`. */
  projectCpuMs: number
  profile: ProfileBreakdown
  eventsNotOk: number
}

/** A RequestClient that accepts every amendment at once: the project's work without the HTTP. */
const acceptingRequest = (async (_url: string, options: { json?: unknown }) => {
  const identifiers = (options.json as { data: { attributes: { identifiers: string[] } } }).data.attributes.identifiers
  return {
    status: 200,
    headers: new Headers(),
    data: {
      data: {
        type: 'ContactlistAmendment',
        attributes: {
          contactListId: 1,
          nbValidIdentifiers: identifiers.length,
          nbInvalidIdentifiers: 0,
          sampleInvalidIdentifiers: []
        }
      },
      errors: [],
      warnings: []
    }
  }
}) as unknown as RequestClient

function categoryOf(url: string): CpuCategory | undefined {
  if (url.includes('/src/destinations/')) return 'project'
  if (url.includes('/node_modules/zod/')) return 'zod'
  if (url.includes('/node_modules/@segment/actions-core/')) return 'actions-core'
  if (url.includes('/node_modules/node-fetch/') || url.includes('/node_modules/cross-fetch/')) return 'http client'
  if (url.includes('/node_modules/')) return 'other dependencies'
  return undefined
}

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/**
 * Attributes each sample to the first frame, from the leaf up, that belongs to a package: node built-ins and V8
 * natives (SHA-256, JSON, regular expressions, Map) count for whoever called them. Samples with no such frame are
 * node's own (sockets, HTTP parsing, the event loop). The harness's own frames (bench/) are left out.
 */
export function attribute(profile: Profile): ProfileBreakdown {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const parents = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id)

  const ms = Object.fromEntries(CPU_CATEGORIES.map((category) => [category, 0])) as Record<CpuCategory, number>
  const projectFunctions = new Map<string, number>()
  profile.samples.forEach((id, i) => {
    const leaf = nodes.get(id)
    const delta = (profile.timeDeltas[i] ?? 0) / 1000
    if (!leaf) return
    const name = leaf.callFrame.functionName
    if (name === '(idle)') return
    if (name === '(garbage collector)') {
      ms['garbage collector'] += delta
      return
    }
    for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
      const frame = nodes.get(at)?.callFrame
      if (!frame) break
      if (frame.url.includes('/bench/')) return
      const category = categoryOf(frame.url)
      if (category) {
        ms[category] += delta
        if (category === 'project') {
          const where = `${frame.functionName || '(anonymous)'} (${frame.url.replace(/^.*\/src\/destinations\/criteo-audiences\//, '')})`
          projectFunctions.set(where, (projectFunctions.get(where) ?? 0) + delta)
        }
        return
      }
    }
    ms['node runtime'] += delta
  })
  const totalMs = CPU_CATEGORIES.reduce((sum, category) => sum + ms[category], 0)
  const topProjectFunctions = [...projectFunctions.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([name, spent]) => ({ name, ms: spent }))
  return { ms, totalMs, topProjectFunctions }
}

export async function profiled(work: () => Promise<void>): Promise<Profile> {
  const session = new Session()
  session.connect()
  const post = <T>(method: string, params?: object) =>
    new Promise<T>((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T)))
    )
  try {
    await post('Profiler.enable')
    await post('Profiler.setSamplingInterval', { interval: 200 })
    await post('Profiler.start')
    await work()
    const { profile } = await post<{ profile: Profile }>('Profiler.stop')
    return profile
  } finally {
    session.disconnect()
  }
}

/** What the action syncs for these events: the preset's mapping applied to each, and the destination's fallbacks. */
function payloadsOf(events: readonly SegmentEvent[]): AudienceEvent[] {
  return audienceEventsOf(mapEvents<Payload>(presetFor('addUserToAudience').mapping, events), events)
}

/**
 * CPU per 1,000 events through `Destination.onBatch`, against a sandbox in another process (so its work is not
 * counted), and the project's share of it, two ways: the project's part timed alone on the same payloads, and a CPU
 * profile of onBatch attributed by file.
 */
export async function measureCpuPerEvent(options: {
  batches: number
  batchSize: number
  rounds: number
}): Promise<CpuResult> {
  const sandbox = await startSandboxProcess({ rateLimitPerMinute: false })
  try {
    return await withCriteoAt(sandbox.url, async () => {
      const send = segmentBatcher('add')
      const batches = Array.from({ length: options.batches }, (_, b) =>
        enteredEvents(options.batchSize, 'cpu_audience', b * options.batchSize)
      )
      const payloads = batches.map(payloadsOf)
      const per1000 = 1000 / (options.batches * options.batchSize)

      // Warm-up: the first batch fetches the token and creates the list, and V8 compiles the hot paths.
      let eventsNotOk = 0
      for (const batch of batches.slice(0, Math.min(10, batches.length))) eventsNotOk += countNotOk(await send(batch))

      let onBatchCpuMs = Infinity
      let onBatchWallMs = Infinity
      let projectCpuMs = Infinity
      for (let round = 0; round < options.rounds; round++) {
        const whole = await measureCpu(async () => {
          for (const batch of batches) eventsNotOk += countNotOk(await send(batch))
        })
        onBatchCpuMs = Math.min(onBatchCpuMs, whole.cpuMs * per1000)
        onBatchWallMs = Math.min(onBatchWallMs, whole.wallMs * per1000)
        const own = await measureCpu(async () => {
          for (const batch of payloads)
            toMultiStatus(await syncEvents(acceptingRequest, SANDBOX_SETTINGS, batch, { defaultOperation: 'add' }))
        })
        projectCpuMs = Math.min(projectCpuMs, own.cpuMs * per1000)
      }

      const profile = attribute(
        await profiled(async () => {
          for (const batch of batches) eventsNotOk += countNotOk(await send(batch))
        })
      )
      const scale = per1000
      const scaled: ProfileBreakdown = {
        ms: Object.fromEntries(CPU_CATEGORIES.map((c) => [c, profile.ms[c] * scale])) as Record<CpuCategory, number>,
        totalMs: profile.totalMs * scale,
        topProjectFunctions: profile.topProjectFunctions.map(({ name, ms }) => ({ name, ms: ms * scale }))
      }
      return {
        batches: options.batches,
        batchSize: options.batchSize,
        onBatchCpuMs,
        onBatchWallMs,
        projectCpuMs,
        profile: scaled,
        eventsNotOk
      }
    })
  } finally {
    await sandbox.close()
  }
}
