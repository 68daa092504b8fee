// Generated file. DO NOT MODIFY IT BY HAND: run `npm run types`.

export interface Payload {
  /**
   * The Engage audience key. Users are synced to the Criteo contact list with exactly this name, which is created the first time it is needed.
   */
  audience_key: string
  /**
   * The user's email address, or its SHA-256 hash. An event without a valid one is reported as not synced, and the rest of its batch goes on.
   */
  email?: string
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
