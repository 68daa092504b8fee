import * as crypto from 'crypto'

/** What a raw email field becomes: the identifier to send, or why it cannot be sent. */
export type PreparedIdentifier = { ok: true; value: string } | { ok: false; reason: string }

export const MISSING_EMAIL = 'Missing email: this event has no email address to sync.'
export const NOT_AN_EMAIL =
  'Not an email address: the Email field must hold an email address or its SHA-256 hash (64 hexadecimal characters).'

export const MISSING_AUDIENCE_KEY =
  'Missing audience key: this event names no Engage audience (properties.audience_key or context.personas.computation_key).'

const SHA256_HEX = /^[0-9a-f]{64}$/
// Deliberately loose: one "@", no white space, a dot in the domain. Criteo does the strict check and counts what it rejects.
const EMAIL_SHAPE = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/

/** Trim and lowercase: the form Criteo matches on, and the form every hash must be taken of. */
export function normalizeEmail(raw: string): string {
  return raw.trim().toLowerCase()
}

export function isSha256Hex(value: string): boolean {
  return SHA256_HEX.test(value)
}

// Hashing was over half of the CPU this destination's own code spends on an event. crypto.hash makes one call into
// OpenSSL where createHash().update().digest() builds a Hash object and makes three: on an email it is about three
// times faster (BENCHMARKS.md). Node 20 has it from 20.12 on; earlier 20.x releases fall back to createHash.
const oneShotHash = typeof crypto.hash === 'function' ? crypto.hash : undefined

export function sha256Hex(value: string): string {
  return oneShotHash ? oneShotHash('sha256', value, 'hex') : crypto.createHash('sha256').update(value).digest('hex')
}

/**
 * Turns the mapped email into what is sent to Criteo: normalized, then hashed with SHA-256 unless `hash` is off.
 * A value that already is a SHA-256 hash is sent as it is (lowercased), never hashed a second time.
 */
export function prepareEmail(raw: unknown, hash: boolean): PreparedIdentifier {
  if (raw === undefined || raw === null) return { ok: false, reason: MISSING_EMAIL }
  if (typeof raw !== 'string') return { ok: false, reason: NOT_AN_EMAIL }
  const normalized = normalizeEmail(raw)
  if (normalized === '') return { ok: false, reason: MISSING_EMAIL }
  if (isSha256Hex(normalized)) return { ok: true, value: normalized }
  if (!EMAIL_SHAPE.test(normalized)) return { ok: false, reason: NOT_AN_EMAIL }
  return { ok: true, value: hash ? sha256Hex(normalized) : normalized }
}

/** An audience key names a Criteo list: it must hold something besides white space. It is used exactly as given. */
export function isUsableAudienceKey(key: unknown): key is string {
  return typeof key === 'string' && key.trim() !== ''
}
