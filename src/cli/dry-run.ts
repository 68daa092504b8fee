import type { SegmentEvent } from '@segment/actions-core'
import { planAmendments } from '../destinations/criteo-audiences/plan'
import type { Payload } from '../destinations/criteo-audiences/addUserToAudience/generated-types'
import { audienceEventsOf } from '../destinations/criteo-audiences/payload'
import { cutBatches, mapEvents, presetFor } from './runner'

export interface PlannedSend {
  audience: string
  operation: 'add' | 'remove'
  events: number
  /** Identifiers that would be sent, after de-duplication within each batch. */
  identifiers: number
  amendments: number
  rejected: Record<string, number>
}

/** What a sync would send, per audience and operation, computed without a single request. Never lists identifiers. */
export function planSync(
  events: readonly SegmentEvent[],
  batchSize: number
): { sends: PlannedSend[]; ignored: number } {
  const { batches, ignored } = cutBatches(events, batchSize)
  const sends = new Map<string, PlannedSend>()
  const sendFor = (audience: string, operation: 'add' | 'remove') => {
    const key = `${operation}\u0000${audience}`
    let send = sends.get(key)
    if (!send) {
      send = { audience, operation, events: 0, identifiers: 0, amendments: 0, rejected: {} }
      sends.set(key, send)
    }
    return send
  }
  for (const batch of batches) {
    const { mapping } = presetFor(batch.action)
    const payloads = audienceEventsOf(mapEvents<Payload>(mapping, batch.events), batch.events)
    // Every event of a batch has the batch's operation, as its action will read it from the event or fall back on.
    const plan = planAmendments(payloads, { defaultOperation: batch.operation })
    payloads.forEach((payload) => sendFor(String(payload.audience_key), batch.operation).events++)
    for (const { index, reason } of plan.rejected) {
      const send = sendFor(String(payloads[index].audience_key), batch.operation)
      send.rejected[reason] = (send.rejected[reason] ?? 0) + 1
    }
    for (const chunk of plan.chunks) {
      const send = sendFor(
        chunk.target.kind === 'name' ? chunk.target.name : `list ${chunk.target.id}`,
        chunk.operation
      )
      send.identifiers += chunk.identifiers.length
      send.amendments++
    }
  }
  const ordered = [...sends.values()].sort(
    (a, b) => a.audience.localeCompare(b.audience) || a.operation.localeCompare(b.operation)
  )
  return { sends: ordered, ignored }
}
