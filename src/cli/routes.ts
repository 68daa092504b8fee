import { resolveAudienceMembership, transform } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import { audienceKeyOf } from '../destinations/criteo-audiences/payload'
import type { Operation } from '../destinations/criteo-audiences/plan'
import { ActionName, presetSubscription } from '../presets'

export interface Subscription {
  subscribe: string
  partnerAction: string
  mapping: Record<string, unknown>
}

/** The actions whose presets the runner sends events with. */
export type AudienceAction = ActionName

/** The destination's own presets: what an admin who changes nothing gets (the automatic preset of the action). */
export const presetFor: (action: AudienceAction) => Subscription = presetSubscription

/** Each action's mapping where it is not its preset's, as an admin may change it; the presets' for the others. */
export type Mappings = Partial<Record<AudienceAction, Record<string, unknown>>>

/** The subscription the events of `action` are sent with: its preset, with its mapping from `mappings` if given. */
export function subscriptionFor(action: AudienceAction, mappings?: Mappings): Subscription {
  const preset = presetFor(action)
  const mapping = mappings?.[action]
  return mapping ? { ...preset, mapping } : preset
}

/** The tallies' name for events whose audience key is missing. */
export const NO_AUDIENCE_KEY = '(no audience key)'

/** How one event is sent: with which action's preset, and whether that action will add or remove its user. */
export interface Route {
  action: AudienceAction
  operation: Operation
}

const ACTION_OF_TRACK_EVENT: Record<string, { action: AudienceAction; operation: Operation }> = {
  'Audience Entered': { action: 'addUserToAudience', operation: 'add' },
  'Audience Exited': { action: 'removeUserFromAudience', operation: 'remove' }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * Whether actions-core can read the event at all. It reads `context.personas` of every event of a batch by
 * destructuring, with defaults that only replace a missing value (`resolveAudienceMembership`, in
 * `audience-membership.js`): an event whose `context` or `context.personas` is null, or that is not an object, throws
 * a TypeError there and takes its whole batch with it.
 */
export function isReadable(event: unknown): event is SegmentEvent {
  if (!isObject(event)) return false
  if (event.context === undefined) return true
  if (!isObject(event.context)) return false
  return event.context.personas === undefined || isObject(event.context.personas)
}

/**
 * The preset an event matches and what its action will do with it, or undefined for an event that is not an audience
 * entry or exit. Every action does what the event says (Engage's true or false under the audience key, read by
 * actions-core's own resolveAudienceMembership), so that decides the operation; an Audience Entered or Exited event
 * that says nothing gets its action's own. Identify events only count when they say: syncAudience has no operation
 * of its own and would only refuse them. The event must be readable (`isReadable`).
 */
export function routeOf(event: SegmentEvent): Route | undefined {
  const membership = resolveAudienceMembership(event as never)
  const said: Operation | undefined = membership === true ? 'add' : membership === false ? 'remove' : undefined
  if (event.type === 'track') {
    const route = ACTION_OF_TRACK_EVENT[event.event ?? '']
    return route && { action: route.action, operation: said ?? route.operation }
  }
  const personas = event.context?.personas as { computation_class?: unknown } | undefined
  if (event.type === 'identify' && personas?.computation_class === 'audience' && said) {
    return { action: 'syncAudience', operation: said }
  }
  return undefined
}

/** One event of the stream that is an audience entry or exit, and how it is sent. */
export interface RoutedEvent extends Route {
  event: SegmentEvent
}

/** The audience entries and exits of a stream, in order, and how many events were skipped, by why. */
export function routeStream(events: readonly unknown[]): {
  routed: RoutedEvent[]
  ignored: number
  unreadable: number
} {
  const routed: RoutedEvent[] = []
  let ignored = 0
  let unreadable = 0
  for (const event of events) {
    if (!isReadable(event)) {
      unreadable++
      continue
    }
    const route = routeOf(event)
    if (route) routed.push({ event, ...route })
    else ignored++
  }
  return { routed, ignored, unreadable }
}

/**
 * `mapping` applied to each event of a batch, as actions-core applies a subscription's: in one `transform` (through
 * `@arrayPath`), since actions-core checks a mapping on every call and checking it once per event is as costly as
 * the destination's own work.
 */
export function mapEvents<T>(mapping: Record<string, unknown>, events: readonly SegmentEvent[]): T[] {
  const { mapped } = transform({ mapped: { '@arrayPath': ['$.events', mapping] } } as never, { events }) as {
    mapped?: T[]
  }
  return mapped ?? []
}

/**
 * Each event's audience key as the destination reads it, for the tallies: that field alone is mapped, and where it
 * is empty the destination's own fallback applies (`audienceKeyOf`).
 */
export function audienceKeysOf(mapping: Record<string, unknown>, events: readonly SegmentEvent[]): string[] {
  return mapEvents<{ audience_key?: unknown }>({ audience_key: mapping.audience_key }, events).map(
    ({ audience_key }, i) => audienceKeyOf(audience_key, events[i]) ?? NO_AUDIENCE_KEY
  )
}
