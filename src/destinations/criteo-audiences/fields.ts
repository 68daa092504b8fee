import type { InputField } from '@segment/actions-core'
import { DEFAULT_BATCH_SIZE, MAX_IDENTIFIERS_PER_AMENDMENT } from './limits'

/**
 * Fields shared by every action: they differ only in the operation they send by default.
 *
 * The defaults are plain paths that Engage's Track events always fill, and nothing else: actions-core reads each path
 * of a mapping anew for every event, at about a microsecond and a kilobyte of garbage apiece, and deletes from the
 * payload every key that comes out empty, which makes each payload a slow object for the rest of its life. So the
 * fallbacks for Identify events (the computation key, traits.email), the device's advertising id and the list Engage
 * linked are read from the event by the destination itself, where the field is empty (`payload.ts`), and cost
 * nothing when the event has none (BENCHMARKS.md, side by side).
 */
export const audienceFields: Record<string, InputField> = {
  audience_key: {
    label: 'Audience key',
    description:
      "The Engage audience key. Users are synced to the Criteo contact list with exactly this name, which is created the first time it is needed. By default the event's properties.audience_key (Track events); where the field is empty, as in Identify events, the destination uses the audience's computation key (context.personas.computation_key). Not used when a Criteo list is chosen below, or when Engage linked the audience to a list (context.personas.external_audience_id).",
    type: 'string',
    default: { '@path': '$.properties.audience_key' }
  },
  email: {
    label: 'Email',
    description:
      "The user's email address, or its SHA-256 hash. By default the event's context.traits.email (Track events); where the field is empty, as in Identify events, the destination uses traits.email. An event without a valid one is reported as not synced, and the rest of its batch goes on.",
    type: 'string',
    // Segment's flag for fields that carry personal data to be hashed: its UI and data controls treat them so.
    category: 'hashedPII',
    default: { '@path': '$.context.traits.email' }
  },
  madid: {
    label: 'Mobile advertising ID',
    description:
      "The device's IDFA (iOS) or AAID (Android), synced as its own identifier type. Leave it empty to use the event's own (context.device.advertisingId, see the switch below). Sent lowercased and never hashed. An all-zero id (ad tracking limited) is skipped.",
    type: 'string'
  },
  use_device_advertising_id: {
    label: "Sync the device's advertising ID",
    description:
      "When the Mobile advertising ID field is empty, sync the event's own device advertising id (context.device.advertisingId), unless the device says its user limited ad tracking (context.device.adTrackingEnabled false). Off, or absent from a mapping saved before this switch existed, syncs mobile advertising ids only from the field above.",
    type: 'boolean',
    default: true
  },
  identity_link: {
    label: 'identityLink',
    description:
      "The user's LiveRamp identityLink (RampID), if you have one: synced as its own identifier type, as given.",
    type: 'string'
  },
  gum_id: {
    label: 'GUM ID',
    description:
      "The user's Criteo GUM id, if you have one: synced as its own identifier type, as given. Needs the GUM Caller ID setting.",
    type: 'string'
  },
  list_id: {
    label: 'Criteo list',
    description:
      'Optional: an existing contact list of the advertiser to sync every user of this mapping to, chosen by name from the drop-down (or typed as its id). Leave empty to sync each audience to the list named after it.',
    type: 'string',
    dynamic: true
  },
  consent: {
    label: 'Consent',
    description:
      'Optional: a value that is true when the user allows ad targeting (for example an ads-consent trait). When it is false, users entering an audience are not added and their events say "Not synced: no consent"; users exiting are still removed. Leave empty to sync everyone.',
    type: 'boolean',
    allowNull: true
  },
  hash_emails: {
    label: 'Hash emails',
    description:
      'Send SHA-256 hashes of the trimmed, lowercased emails instead of the emails themselves. Values that already are SHA-256 hashes are sent as they are.',
    type: 'boolean',
    default: true
  },
  enable_batching: {
    label: 'Enable batching',
    description: 'Send events to Criteo in batches: one request per audience for up to 50,000 users.',
    type: 'boolean',
    default: true,
    // Batches are how this destination spares Criteo's rate limit: an admin cannot turn them off.
    readOnly: true
  },
  batch_size: {
    label: 'Batch size',
    description: 'The most events Segment puts in one batch.',
    type: 'number',
    default: DEFAULT_BATCH_SIZE,
    minimum: 1,
    // A batch's identifiers of one list and type fit one amendment; larger batches are still cut (plan.ts).
    maximum: MAX_IDENTIFIERS_PER_AMENDMENT,
    unsafe_hidden: true
  }
}
