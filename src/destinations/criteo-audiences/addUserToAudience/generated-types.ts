// Generated file. DO NOT MODIFY IT BY HAND: run `npm run types`.

export interface Payload {
  /**
   * The Engage audience key. Users are synced to the Criteo contact list with exactly this name, which is created the first time it is needed. By default the event's properties.audience_key (Track events); where the field is empty, as in Identify events, the destination uses the audience's computation key (context.personas.computation_key). Not used when a Criteo list is chosen below, or when Engage linked the audience to a list (context.personas.external_audience_id).
   */
  audience_key?: string
  /**
   * The user's email address, or its SHA-256 hash. By default the event's context.traits.email (Track events); where the field is empty, as in Identify events, the destination uses traits.email. An event without a valid one is reported as not synced, and the rest of its batch goes on.
   */
  email?: string
  /**
   * The device's IDFA (iOS) or AAID (Android), synced as its own identifier type. Leave it empty to use the event's own (context.device.advertisingId, see the switch below). Sent lowercased and never hashed. An all-zero id (ad tracking limited) is skipped.
   */
  madid?: string
  /**
   * When the Mobile advertising ID field is empty, sync the event's own device advertising id (context.device.advertisingId), unless the device says its user limited ad tracking (context.device.adTrackingEnabled false). Off, or absent from a mapping saved before this switch existed, syncs mobile advertising ids only from the field above.
   */
  use_device_advertising_id?: boolean
  /**
   * The user's LiveRamp identityLink (RampID), if you have one: synced as its own identifier type, as given.
   */
  identity_link?: string
  /**
   * The user's Criteo GUM id, if you have one: synced as its own identifier type, as given. Needs the GUM Caller ID setting.
   */
  gum_id?: string
  /**
   * Optional: an existing contact list of the advertiser to sync every user of this mapping to, chosen by name from the drop-down (or typed as its id). Leave empty to sync each audience to the list named after it.
   */
  list_id?: string
  /**
   * Optional: a value that is true when the user allows ad targeting (for example an ads-consent trait). When it is false, users entering an audience are not added and their events say "Not synced: no consent"; users exiting are still removed. Leave empty to sync everyone.
   */
  consent?: boolean | null
  /**
   * Send SHA-256 hashes of the trimmed, lowercased emails instead of the emails themselves. Values that already are SHA-256 hashes are sent as they are.
   */
  hash_emails?: boolean
  /**
   * Send events to Criteo in batches: one request per audience for up to 50,000 users.
   */
  enable_batching?: boolean
  /**
   * The most events Segment puts in one batch.
   */
  batch_size?: number
}
