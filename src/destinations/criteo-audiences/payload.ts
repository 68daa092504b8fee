import { fieldsToJsonSchema, transform, validateSchema } from '@segment/actions-core'
import type { Payload } from './addUserToAudience/generated-types'
import { audienceFields } from './fields'
import type { AudienceEvent } from './plan'

/**
 * What actions-core hands `perform` and `performBatch` at run time besides what its `ExecuteInput` type declares: the
 * event (`perform`) or the batch's events (`performBatch`) as Segment sent them, and the subscription's mapping.
 * test/destination/mapping.test.ts fails when actions-core stops passing them.
 */
export interface RuntimeInput {
  rawData?: unknown
  rawMapping?: unknown
}

/** The places Engage fills in that the destination reads itself, where the mapped field is empty. */
interface EngageEvent {
  traits?: { email?: unknown } | null
  context?: {
    personas?: { computation_key?: unknown; external_audience_id?: unknown } | null
    device?: { advertisingId?: unknown; adTrackingEnabled?: unknown } | null
  } | null
}

/** Empty as actions-core's `@if` with `blank` saw it: no value, null, or the empty string. */
function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === ''
}

/** An audience key as a string, as actions-core's validation would have coerced it; anything else names no list. */
function keyText(value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined
}

/** The audience key of an event: the mapped one, or where it is empty, the audience's computation key. */
export function audienceKeyOf(mapped: unknown, raw: unknown): string | undefined {
  if (!isEmpty(mapped)) return keyText(mapped)
  return keyText((raw as EngageEvent | undefined)?.context?.personas?.computation_key)
}

/**
 * What the destination syncs for one event: its mapped payload, with what Engage put in the event where the mapping
 * left the field empty. Every event comes out with the same keys in the same order, so the planner sees one shape.
 */
export function audienceEventOf(payload: Payload, raw: unknown, savedListId?: string): AudienceEvent {
  const event = raw as EngageEvent | undefined
  const context = event?.context
  const linked = context?.personas?.external_audience_id
  // The device's own id only where the mapping asks for it: a subscription saved before the switch existed (or by
  // Segment's own Criteo destination, which never sent device ids) does not start sending them. A device whose user
  // limited ad tracking may still report a real id (older Android): it is not sent.
  const device =
    isEmpty(payload.madid) && payload.use_device_advertising_id === true ? (context?.device ?? undefined) : undefined
  const trackingLimited = device?.adTrackingEnabled === false && !isEmpty(device.advertisingId)
  return {
    audience_key: audienceKeyOf(payload.audience_key, raw),
    list_id: payload.list_id,
    saved_list_id: savedListId,
    // Any value but an empty one stands: one that is not a list id is reported as such, never replaced by the name.
    external_audience_id: isEmpty(linked) ? undefined : String(linked),
    email: isEmpty(payload.email) ? event?.traits?.email : payload.email,
    madid: device === undefined ? payload.madid : trackingLimited ? undefined : device.advertisingId,
    ad_tracking_limited: trackingLimited,
    identity_link: payload.identity_link,
    gum_id: payload.gum_id,
    hash_emails: payload.hash_emails,
    consent: payload.consent
  }
}

/** `audienceEventOf` for a batch; `raws[i]` is the event behind `payloads[i]`, or undefined where it is not known. */
export function audienceEventsOf(
  payloads: readonly Payload[],
  raws: readonly unknown[] | undefined,
  savedListId?: string
): AudienceEvent[] {
  const events = new Array<AudienceEvent>(payloads.length)
  for (let i = 0; i < payloads.length; i++) events[i] = audienceEventOf(payloads[i], raws?.[i], savedListId)
  return events
}

const schema = fieldsToJsonSchema(audienceFields)

/**
 * The event behind each payload of a batch, index for index, or undefined when that cannot be known for sure (then
 * no event gets a fallback, and events that needed one report what they lack; none is sent to the wrong list).
 *
 * actions-core passes the batch's events as `rawData`, but it drops the payloads that fail its schema validation
 * before `performBatch`, without saying which. Then each event's payload is mapped and validated again as actions-core
 * did (`transform`, its empty-value rule, `validateSchema`), to find the events whose payloads were dropped. That
 * only happens in a batch with an invalid payload, so its cost does not matter.
 */
export function rawEventsOf(input: RuntimeInput, payloadCount: number): readonly unknown[] | undefined {
  const { rawData, rawMapping } = input
  if (!Array.isArray(rawData)) return undefined
  if (rawData.length === payloadCount) return rawData
  if (typeof rawMapping !== 'object' || rawMapping === null) return undefined
  const kept = rawData.filter((raw) => isValidPayload(rawMapping as Record<string, unknown>, raw))
  return kept.length === payloadCount ? kept : undefined
}

function isValidPayload(mapping: Record<string, unknown>, raw: unknown): boolean {
  try {
    const payload = transform(mapping as never, raw as never) as Record<string, unknown>
    // actions-core's removeEmptyValues, for fields that are all flat: a null where the field does not allow null,
    // and an empty string where it is not a string, are taken as absent.
    for (const key of Object.keys(payload)) {
      const field = schema.properties?.[key]
      const types = ([] as unknown[]).concat(field?.type ?? [])
      if (types.length === 0) continue
      const value = payload[key]
      if ((value === null && !types.includes('null')) || (value === '' && !types.includes('string'))) {
        delete payload[key]
      }
    }
    return validateSchema(payload, schema, { throwIfInvalid: false })
  } catch {
    return false
  }
}
