import { Destination, MultiStatusResponse } from '@segment/actions-core'
import type { DestinationDefinition } from '@segment/actions-core'
import definition from '../destinations/criteo-audiences'
import { batchEventsOf } from '../destinations/criteo-audiences/audience-action'
import type { Payload } from '../destinations/criteo-audiences/addUserToAudience/generated-types'
import { gumCallerIdOf } from '../destinations/criteo-audiences/identifiers'
import { isAddWithoutConsent, planAmendments } from '../destinations/criteo-audiences/plan'
import type { AmendmentChunk, AudienceEvent } from '../destinations/criteo-audiences/plan'
import type { Credentials } from './runner'
import { AudienceAction, audienceKeysOf, Mappings, NO_AUDIENCE_KEY, RoutedEvent, subscriptionFor } from './routes'

/**
 * How the runner keeps Criteo in step with a time-ordered stream without sending it in stream order.
 *
 * What must hold: for each list and identifier, Criteo ends with what the last event carrying it says. Events that
 * share no identifier of a list commute, so the stream is read in windows, and within a window:
 * - when a later event carries every identifier an earlier one sent to a list, only the later one is sent: the
 *   earlier one is superseded and reports the later one's outcome (what one batch already does for a user entering
 *   and exiting within it, where the last event wins and both report it);
 * - what is left holds each identifier of a list once, so it can be sorted (by action, audience, operation) into
 *   full batches of few amendments, and those batches can all be in flight at once.
 * Windows go one after another, and a window is finished, retries included, before the next one starts, so an
 * event retried late never lands after a later event of the same user.
 *
 * A later event that overlaps an earlier one only in part (another identifier, or a refused one) cannot stand for
 * it; the window ends before it, and it starts the next one. An add without consent is such an event: it sends
 * nothing and leaves the user as the earlier events left them, so it never stands for them, nor they for it (which
 * would have the earlier ones report its refusal, as one batch holding both does). So over a stream the consent
 * gate reads each event in order: added with consent, removed, or left as they were without it.
 */

/** What the destination will make of a routed event, found out before anything is sent. */
export interface PreparedEvent extends RoutedEvent {
  /** The audience key as the destination reads it (the mapped one, or the computation key), for the tallies. */
  audience: string
  /**
   * What the destination syncs for it: actions-core's payload, filled in as performBatch fills it (`batchEventsOf`);
   * undefined when actions-core refuses the event itself.
   */
  payload?: AudienceEvent
  /** Why actions-core refuses the event, when it does. */
  refusal?: string
  /** The identifiers it sends, each as the id of one (list, identifier type, value) within its preparation. */
  sends: number[]
  /** Some part of it is refused before anything is sent: its own data, or a payload actions-core rejects. */
  refused: boolean
}

export interface Batch {
  action: AudienceAction
  events: PreparedEvent[]
}

export interface Window {
  /** Batches that may all be in flight at once: no two of their events send one identifier to one list. */
  batches: Batch[]
  /** Events that are not sent, each with the event of the same window whose outcome it reports. */
  superseded: Array<{ event: PreparedEvent; by: PreparedEvent }>
}

export { NO_AUDIENCE_KEY } from './routes'

/**
 * actions-core's own preparation of a batch, with nothing sent: the destination's definition whose actions hand back
 * what their performBatch would sync instead of syncing it (`batchEventsOf`: the payloads, with what the destination
 * reads from the raw events where the mapping left a field empty). So the runner sees each event exactly as the
 * destination will (mapped, type-coerced, validated, filled in, or refused), without a second copy of either's rules.
 */
function preparingDefinition(): DestinationDefinition<Credentials> {
  const actions = Object.fromEntries(
    Object.entries(definition.actions).map(([slug, action]) => [
      slug,
      {
        ...action,
        performBatch: (_request: unknown, data: { payload: Payload[]; hookOutputs?: unknown }) => {
          const msr = new MultiStatusResponse()
          batchEventsOf(data).forEach((event, k) =>
            msr.setSuccessResponseAtIndex(k, { status: 200, sent: event as never, body: {} })
          )
          return msr
        }
      }
    ])
  )
  return { ...definition, actions }
}

export class EventPreparer {
  private readonly destination = new Destination<Credentials>(preparingDefinition())

  constructor(
    private readonly settings: Credentials & { gum_caller_id?: unknown },
    private readonly mappings?: Mappings
  ) {}

  /** Finds out, for each event, its payload, the identifiers it will send to which list, and what will be refused. */
  async prepare(routed: readonly RoutedEvent[]): Promise<PreparedEvent[]> {
    const payloads: (AudienceEvent | undefined)[] = new Array(routed.length).fill(undefined)
    const refusals: (string | undefined)[] = new Array(routed.length).fill(undefined)
    const byAction = new Map<AudienceAction, number[]>()
    routed.forEach(({ action }, i) => {
      const indices = byAction.get(action) ?? []
      indices.push(i)
      byAction.set(action, indices)
    })
    for (const [action, indices] of byAction) {
      let statuses: Array<{ status: number; sent?: unknown; errormessage?: string }>
      try {
        const [result] = await this.destination.onBatch(
          indices.map((i) => routed[i].event),
          { ...this.settings, subscription: subscriptionFor(action, this.mappings) } as never
        )
        statuses = (result as { multistatus: typeof statuses }).multistatus
      } catch (error) {
        // Whatever makes actions-core throw here makes it throw when the events are sent: they are sent as they
        // are, and report what it says then. Until then they send nothing that could conflict.
        statuses = indices.map(() => ({ status: 500, errormessage: (error as Error).message }))
      }
      statuses.forEach((status, k) => {
        if (status.status === 200) payloads[indices[k]] = status.sent as AudienceEvent
        else refusals[indices[k]] = status.errormessage ?? `HTTP ${status.status}`
      })
    }

    const planned: number[] = []
    payloads.forEach((payload, i) => payload && planned.push(i))
    const refused = payloads.map((payload) => payload === undefined)
    // An add without consent sends nothing, yet it is planned here as if it had consent, so that it holds the
    // identifiers it carries and is refused: the window then ends before it wherever it meets an earlier event of its
    // user (see the top of this file), and its own batch refuses it alone, whatever else the stream holds.
    const plan = planAmendments(
      planned.map((i) => {
        const payload = payloads[i] as AudienceEvent
        if (!isAddWithoutConsent(payload, routed[i].operation)) return payload
        refused[i] = true
        return { ...payload, consent: undefined }
      }),
      {
        // What performBatch is told too: actions-core's reading of the event, or the action's own (routes.ts).
        operations: planned.map((i) => routed[i].operation),
        gumCallerId: gumCallerIdOf(this.settings.gum_caller_id)
      }
    )
    const sends: number[][] = routed.map(() => [])
    // An identifier of a list lives in exactly one chunk; its position there, offset by the chunks before, is its id.
    let offset = 0
    for (const chunk of plan.chunks) {
      for (let k = 0; k < chunk.events.length; k++) sends[planned[chunk.events[k]]].push(offset + chunk.positions[k])
      offset += chunk.identifiers.length
    }
    for (const { index } of plan.rejected) refused[planned[index]] = true
    linkNamesToLinkedLists(plan.chunks, planned, payloads, sends, offset)

    const prepared: PreparedEvent[] = new Array(routed.length)
    for (let i = 0; i < routed.length; i++) {
      const { event, action, operation } = routed[i]
      const payload = payloads[i]
      // An event actions-core refuses still has an audience to be counted under: its key, read alone.
      const key = payload
        ? payload.audience_key
        : audienceKeysOf(subscriptionFor(action, this.mappings).mapping, [event])[0]
      const ids = sends[i]
      if (ids.length > 1) ids.sort((a, b) => a - b)
      prepared[i] = {
        event,
        action,
        operation,
        audience: typeof key === 'string' && key !== '' ? key : NO_AUDIENCE_KEY,
        payload: payloads[i],
        refusal: refusals[i],
        sends: ids,
        refused: refused[i]
      }
    }
    return prepared
  }
}

/**
 * Engage links an audience to the list named after its key (README, "Engage audience destination mode"), so an event
 * that goes to the linked list by its id (`external_audience_id`) and one of the same audience key that goes by name
 * reach one list: an identifier of one must conflict with the same identifier of the other, or their order is lost.
 * The planner already sends a slice's events of an audience it shows linked to one list to that list (plan.ts,
 * `linkedLists`), so events by name of a linked key are left only where the slice links the key to two lists
 * (relinked, outside the design). Each such event also holds the id of the same identifier under the other key, so
 * that either stands for the other as events of one key do; where the identifier went to both linked lists, an event
 * by name may belong to either: it holds a marker of its own in place of the linked ids, so that it and the linked
 * events end the window at each other, and none stands for another.
 *
 * `sends` gets the new ids; `nextId` is the first id no identifier holds. Streams that link nothing pay one pass over
 * the chunks.
 */
function linkNamesToLinkedLists(
  chunks: readonly AmendmentChunk[],
  planned: readonly number[],
  payloads: readonly (AudienceEvent | undefined)[],
  sends: number[][],
  nextId: number
): void {
  const offsets: number[] = []
  let offset = 0
  let links = false
  for (const chunk of chunks) {
    offsets.push(offset)
    offset += chunk.identifiers.length
    links ||= chunk.target.kind === 'engage'
  }
  if (!links) return
  const aliasOf = (key: string, chunk: AmendmentChunk, position: number) =>
    `${key}\n${chunk.identifierType}\n${chunk.identifiers[position]}`

  // The linked ids of each (audience key, identifier type, value), and the events that send to them.
  const linkedIds = new Map<string, Set<number>>()
  const linkedEvents = new Map<string, number[]>()
  const linkedKeys = new Set<string>()
  chunks.forEach((chunk, c) => {
    if (chunk.target.kind !== 'engage') return
    for (let k = 0; k < chunk.events.length; k++) {
      const event = planned[chunk.events[k]]
      const key = payloads[event]?.audience_key
      if (typeof key !== 'string') continue
      const alias = aliasOf(key, chunk, chunk.positions[k])
      let ids = linkedIds.get(alias)
      if (!ids) linkedIds.set(alias, (ids = new Set()))
      ids.add(offsets[c] + chunk.positions[k])
      let events = linkedEvents.get(alias)
      if (!events) linkedEvents.set(alias, (events = []))
      events.push(event)
      linkedKeys.add(key)
    }
  })
  // The id of each such identifier by name, and what its events by name hold for it: its one linked id, or a marker.
  const namedIds = new Map<string, number>()
  const heldByName = new Map<string, number>()
  chunks.forEach((chunk, c) => {
    if (chunk.target.kind !== 'name' || !linkedKeys.has(chunk.target.name)) return
    for (let k = 0; k < chunk.events.length; k++) {
      const alias = aliasOf(chunk.target.name, chunk, chunk.positions[k])
      const ids = linkedIds.get(alias)
      if (!ids) continue
      let held = heldByName.get(alias)
      if (held === undefined) {
        namedIds.set(alias, offsets[c] + chunk.positions[k])
        heldByName.set(alias, (held = ids.size === 1 ? [...ids][0] : nextId++))
      }
      sends[planned[chunk.events[k]]].push(held)
    }
  })
  for (const [alias, named] of namedIds) {
    for (const event of linkedEvents.get(alias) as number[]) sends[event].push(named)
  }
}

function includes(sorted: readonly number[], values: readonly number[]): boolean {
  return values.every((value) => sorted.includes(value))
}

/**
 * Cuts prepared events, in stream order, into windows (see the top of this file): supersedes what a later event
 * stands for, ends a window where a later event cannot stand for an earlier one, and packs the rest into batches.
 */
export function splitIntoWindows(events: readonly PreparedEvent[], batchSize: number): Window[] {
  const windows: Window[] = []
  const supersededBy = new Int32Array(events.length).fill(-1)
  let start = 0
  // The live event of the current window that sends each identifier.
  let holder = new Map<number, number>()

  for (let i = 0; i < events.length; i++) {
    const later = events[i]
    const earlier = new Set<number>()
    for (const id of later.sends) {
      const p = holder.get(id)
      if (p !== undefined) earlier.add(p)
    }
    const standsForAll =
      !later.refused && [...earlier].every((p) => !events[p].refused && includes(later.sends, events[p].sends))
    if (earlier.size > 0 && !standsForAll) {
      windows.push(windowOf(events, start, i, supersededBy, batchSize))
      start = i
      holder = new Map()
      earlier.clear()
    }
    for (const p of earlier) supersededBy[p] = i
    for (const id of later.sends) holder.set(id, i)
  }
  if (start < events.length) windows.push(windowOf(events, start, events.length, supersededBy, batchSize))
  return windows
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

const ACTION_ORDER: readonly AudienceAction[] = ['addUserToAudience', 'removeUserFromAudience', 'syncAudience']

function windowOf(
  events: readonly PreparedEvent[],
  start: number,
  end: number,
  supersededBy: Int32Array,
  batchSize: number
): Window {
  const live = new Map<AudienceAction, PreparedEvent[]>()
  const superseded: Window['superseded'] = []
  for (let i = start; i < end; i++) {
    if (supersededBy[i] === -1) {
      const action = events[i].action
      const list = live.get(action) ?? []
      list.push(events[i])
      live.set(action, list)
      continue
    }
    let last = supersededBy[i]
    while (supersededBy[last] !== -1) last = supersededBy[last]
    superseded.push({ event: events[i], by: events[last] })
  }
  const batches: Batch[] = []
  for (const action of ACTION_ORDER) {
    const list = live.get(action)
    if (!list) continue
    // Sorted so that each batch holds as few audiences and operations, and so amendments, as the window allows.
    list.sort((a, b) => compare(a.audience, b.audience) || compare(a.operation, b.operation))
    for (let from = 0; from < list.length; from += batchSize) {
      batches.push({ action, events: list.slice(from, from + batchSize) })
    }
  }
  return { batches, superseded }
}

/**
 * The windows of a stream's audience events, one after another: `windowSize` events are prepared and planned at a
 * time, so that memory holds one such slice however long the stream.
 */
export async function* windowsOf(
  routed: readonly RoutedEvent[],
  options: {
    batchSize: number
    windowSize: number
    settings: Credentials & { gum_caller_id?: unknown }
    mappings?: Mappings
  }
): AsyncGenerator<Window> {
  const preparer = new EventPreparer(options.settings, options.mappings)
  for (let from = 0; from < routed.length; from += options.windowSize) {
    const prepared = await preparer.prepare(routed.slice(from, from + options.windowSize))
    yield* splitIntoWindows(prepared, options.batchSize)
  }
}
