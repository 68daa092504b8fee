import { Destination } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import definition from '../src/destinations/criteo-audiences'
import { resetCriteoCaches } from '../src/destinations/criteo-audiences/criteo/client'
import type { Operation } from '../src/destinations/criteo-audiences/plan'
import { engageEvent } from '../src/cli/generate'
import { presetFor } from '../src/cli/runner'
import { DEFAULT_TENANT } from '../src/sandbox'

/** The sandbox's default tenant, as the destination's settings. */
export const SANDBOX_SETTINGS = {
  advertiser_id: DEFAULT_TENANT.advertiserIds[0],
  client_id: DEFAULT_TENANT.clientId,
  client_secret: DEFAULT_TENANT.clientSecret
}

const FIRST = ['Ann', 'bob', 'Chloe', 'dev', 'Eva', 'farid', 'Grace', 'hugo']
const DOMAINS = ['example.com', 'Example.org', 'mail.example.net', 'shop.example.co.uk']

/** A distinct, realistic email for user `n`: mixed case, as people type them, so normalizing has work to do. */
export function emailOf(n: number): string {
  return `${FIRST[n % FIRST.length]}.Smith${n}@${DOMAINS[n % DOMAINS.length]}`
}

/** `count` "Audience Entered" events for `audience`, for users `first`, `first + 1`, …, each with its own email. */
export function enteredEvents(count: number, audience: string, first = 0): SegmentEvent[] {
  return Array.from({ length: count }, (_, i) =>
    engageEvent(`user-${first + i}`, audience, true, emailOf(first + i), first + i)
  )
}

/** What Segment passes as `onBatch`'s second argument: the settings, and the destination's own preset as subscription. */
export function batchSettings(operation: Operation = 'add', settings = SANDBOX_SETTINGS) {
  return { ...settings, subscription: presetFor(operation === 'add' ? 'addUserToAudience' : 'removeUserFromAudience') }
}

export interface EventResult {
  status: number
  errormessage?: string
}

/** A destination instance and a function that pushes one batch through `onBatch`, the way Segment does. */
export function segmentBatcher(operation: Operation = 'add') {
  const destination = new Destination(definition)
  const settings = batchSettings(operation) as unknown as Parameters<Destination['onBatch']>[1]
  return async (events: SegmentEvent[]): Promise<EventResult[]> => {
    const [result] = await destination.onBatch(events, settings)
    return (result as { multistatus: EventResult[] }).multistatus
  }
}

/**
 * Points the destination at `url` with empty token and list caches for the duration of `work`, then puts back
 * whatever CRITEO_API_URL was before.
 */
export async function withCriteoAt<T>(url: string, work: () => Promise<T>): Promise<T> {
  const previous = process.env.CRITEO_API_URL
  process.env.CRITEO_API_URL = url
  resetCriteoCaches()
  try {
    return await work()
  } finally {
    resetCriteoCaches()
    if (previous === undefined) delete process.env.CRITEO_API_URL
    else process.env.CRITEO_API_URL = previous
  }
}

/** Milliseconds of CPU (user + system) this process spent during `work`, and the wall time it took. */
export async function measureCpu<T>(work: () => Promise<T>): Promise<{ result: T; cpuMs: number; wallMs: number }> {
  const wall = performance.now()
  const cpu = process.cpuUsage()
  const result = await work()
  const used = process.cpuUsage(cpu)
  return { result, cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - wall }
}

export function countNotOk(results: readonly EventResult[]): number {
  return results.reduce((n, result) => n + (result.status === 200 ? 0 : 1), 0)
}
