import { gumCallerIdOf } from '../destinations/criteo-audiences/identifiers'
import { planAmendments } from '../destinations/criteo-audiences/plan'
import type { AudienceEvent } from '../destinations/criteo-audiences/plan'
import { SANDBOX_SETTINGS } from './sandbox-target'
import { routeStream } from './routes'
import type { Mappings } from './routes'
import type { Credentials } from './runner'
import { RUN_DEFAULTS, WINDOW_BATCHES } from './runner'
import { PreparedEvent, windowsOf } from './windows'

export interface PlannedSend {
  audience: string
  operation: 'add' | 'remove'
  events: number
  /** Identifiers that would be sent, after de-duplication within each batch. */
  identifiers: number
  amendments: number
  /** Events not sent because a later event of the same user and list, in the same window, stands for them. */
  superseded: number
  rejected: Record<string, number>
}

export interface SyncPlan {
  sends: PlannedSend[]
  /** Audience entries and exits. */
  events: number
  ignored: number
  unreadable: number
  batches: number
  windows: number
}

/**
 * What a sync would send, per audience and operation, computed without a single request: the same windows and
 * batches as runSync, each batch planned as the destination plans it. Never lists identifiers.
 */
export async function planSync(
  events: readonly unknown[],
  {
    batchSize = RUN_DEFAULTS.batchSize,
    settings = SANDBOX_SETTINGS,
    mappings
  }: { batchSize?: number; settings?: Credentials & { gum_caller_id?: unknown }; mappings?: Mappings } = {}
): Promise<SyncPlan> {
  const { routed, ignored, unreadable } = routeStream(events)

  const sends = new Map<string, PlannedSend>()
  const sendFor = (audience: string, operation: 'add' | 'remove') => {
    const key = `${operation}\u0000${audience}`
    let send = sends.get(key)
    if (!send) {
      send = { audience, operation, events: 0, identifiers: 0, amendments: 0, superseded: 0, rejected: {} }
      sends.set(key, send)
    }
    return send
  }
  const reject = (event: PreparedEvent, reason: string) => {
    const send = sendFor(event.audience, event.operation)
    send.rejected[reason] = (send.rejected[reason] ?? 0) + 1
  }

  let batches = 0
  let windows = 0
  for await (const window of windowsOf(routed, {
    batchSize,
    windowSize: batchSize * WINDOW_BATCHES,
    settings,
    mappings
  })) {
    windows++
    batches += window.batches.length
    for (const { event } of window.superseded) {
      const send = sendFor(event.audience, event.operation)
      send.events++
      send.superseded++
    }
    for (const batch of window.batches) {
      for (const event of batch.events) {
        sendFor(event.audience, event.operation).events++
        if (event.refusal !== undefined) reject(event, event.refusal)
      }
      const planned = batch.events.filter((event) => event.payload !== undefined)
      const plan = planAmendments(
        planned.map((event) => event.payload as AudienceEvent),
        { operations: planned.map((event) => event.operation), gumCallerId: gumCallerIdOf(settings.gum_caller_id) }
      )
      for (const { index, reason } of plan.rejected) reject(planned[index], reason)
      for (const chunk of plan.chunks) {
        const send = sendFor(
          chunk.target.kind === 'name' ? chunk.target.name : `list ${chunk.target.id}`,
          chunk.operation
        )
        send.identifiers += chunk.identifiers.length
        send.amendments++
      }
    }
  }
  const ordered = [...sends.values()].sort(
    (a, b) => a.audience.localeCompare(b.audience) || a.operation.localeCompare(b.operation)
  )
  return { sends: ordered, events: routed.length, ignored, unreadable, batches, windows }
}
