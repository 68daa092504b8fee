import { createHash } from 'crypto'

/** The contract's `identifierType` enum. */
export const IDENTIFIER_TYPES = ['email', 'madid', 'identityLink', 'gum', 'phoneNumber'] as const
export type IdentifierType = (typeof IDENTIFIER_TYPES)[number]

/**
 * The type of an amendment that names none: `identifierType` is optional in Criteo's contract, which does not say
 * what its absence means. OUR ASSUMPTION: email, the type Criteo's docs and examples lead with.
 */
export const DEFAULT_IDENTIFIER_TYPE: IdentifierType = 'email'

/** Criteo returns a sample of the rejected identifiers, not all of them; 10 is the sandbox's choice of size. */
export const INVALID_IDENTIFIER_SAMPLE_SIZE = 10

const SHA256_HEX = /^[0-9a-f]{64}$/i
const MD5_HEX = /^[0-9a-f]{32}$/i
// Deliberately loose, like a receiving API that only needs to tell an email from garbage: local@domain.tld.
const PLAINTEXT_EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex')
}

/**
 * What the sandbox stores for one received email identifier, or undefined when Criteo would count it invalid.
 * Criteo hashes plaintext on receipt, so a list never holds a plaintext email; hashes are kept as sent, lowercased.
 */
export function storedEmail(received: string): string | undefined {
  const trimmed = received.trim()
  if (SHA256_HEX.test(trimmed) || MD5_HEX.test(trimmed)) return trimmed.toLowerCase()
  if (PLAINTEXT_EMAIL.test(trimmed)) return sha256Hex(trimmed.toLowerCase())
  return undefined
}

/**
 * What the sandbox stores for one received identifier of any type, or undefined when it is invalid. Only emails are
 * checked: Criteo documents no format for the others (phone numbers included), so any non-empty one is kept (OUR
 * ASSUMPTION).
 */
export function storedIdentifier(identifierType: IdentifierType, received: string): string | undefined {
  if (identifierType === 'email') return storedEmail(received)
  return received.length > 0 ? received : undefined
}

export interface SortedIdentifiers {
  valid: string[]
  nbInvalid: number
  sampleInvalid: string[]
}

/** One pass over the identifiers: the valid ones in storage form, and a count and sample of the rest. */
export function sortIdentifiers(identifierType: IdentifierType, received: readonly string[]): SortedIdentifiers {
  const valid: string[] = []
  const sampleInvalid: string[] = []
  let nbInvalid = 0
  for (const identifier of received) {
    const stored = storedIdentifier(identifierType, identifier)
    if (stored !== undefined) {
      valid.push(stored)
    } else {
      nbInvalid++
      if (sampleInvalid.length < INVALID_IDENTIFIER_SAMPLE_SIZE) sampleInvalid.push(identifier)
    }
  }
  return { valid, nbInvalid, sampleInvalid }
}
