import type { InputField } from '@segment/actions-core'

/** Fields shared by both actions: they differ only in the operation they send. */
export const audienceFields: Record<string, InputField> = {
  audience_key: {
    label: 'Audience key',
    description:
      'The Engage audience key. Users are synced to the Criteo contact list with exactly this name, which is created the first time it is needed.',
    type: 'string',
    required: true,
    default: {
      '@if': {
        blank: { '@path': '$.properties.audience_key' },
        then: { '@path': '$.properties.audience_key' },
        else: { '@path': '$.context.personas.computation_key' }
      }
    }
  },
  email: {
    label: 'Email',
    description:
      "The user's email address, or its SHA-256 hash. An event without a valid one is reported as not synced, and the rest of its batch goes on.",
    type: 'string',
    default: {
      '@if': {
        blank: { '@path': '$.context.traits.email' },
        then: { '@path': '$.context.traits.email' },
        else: { '@path': '$.traits.email' }
      }
    }
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
    default: true
  },
  batch_size: {
    label: 'Batch size',
    description: 'The most events Segment puts in one batch.',
    type: 'number',
    default: 1000,
    minimum: 1,
    unsafe_hidden: true
  }
}
