import * as crypto from 'crypto'
import { MAX_LIST_NAME_LENGTH } from './limits'

/** What a raw email field becomes: the identifier to send, or why it cannot be sent. */
export type PreparedIdentifier = { ok: true; value: string } | { ok: false; reason: string }

export const MISSING_EMAIL = 'Missing email: this event has no email address to sync.'
export const NOT_AN_EMAIL =
  'Not an email address: the Email field must hold an email address or its SHA-256 hash (64 hexadecimal characters).'

export const NO_IDENTIFIER =
  'Missing identifier: this event has no email address, mobile advertising id, identityLink or GUM id to sync.'
export const ZEROED_MADID =
  "Missing identifier: the only identifier is the mobile advertising id of a device whose user limited ad tracking (an id of all zeros, or the device's adTrackingEnabled false), which is not synced."
export const NOT_A_MADID =
  'Not a mobile advertising id: the Mobile advertising ID field must hold an IDFA or AAID (8-4-4-4-12 hexadecimal digits).'
export const NOT_AN_IDENTITY_LINK =
  'Not an identityLink: the identityLink field must hold one token of at most 512 characters, with no white space.'
export const NOT_A_GUM_ID =
  'Not a GUM id: the GUM ID field must hold one token of at most 512 characters, with no white space.'
export const GUM_CALLER_ID_MISSING =
  'GUM id not synced: the GUM Caller ID setting is empty or not digits. Fill it in (digits, as Criteo gave it to you) to sync GUM ids.'
export const GUM_CALLER_ID_NOT_DIGITS =
  'The GUM Caller ID must contain only digits, as Criteo gave it to you (or be left empty if you sync no GUM ids).'

export const MISSING_AUDIENCE_KEY =
  'Missing audience key: this event names no Engage audience (properties.audience_key or context.personas.computation_key), and the mapping chooses no Criteo list.'
/** A Criteo list id as this destination accepts one: digits only (the contract's segment ids are int32s as text). */
export function isListId(id: string): boolean {
  return /^\d+$/.test(id)
}

/** Why `name` cannot name a Criteo list, when it is too long for one; undefined when it is not. */
export function listNameTooLong(name: string): string | undefined {
  return name.length > MAX_LIST_NAME_LENGTH ? audienceKeyTooLong(name.length) : undefined
}

/** An audience key names a Criteo list, and list names have a length limit (`MAX_LIST_NAME_LENGTH`). */
export function audienceKeyTooLong(length: number): string {
  return (
    `Audience key too long: it has ${length} characters, and Criteo list names are at most ${MAX_LIST_NAME_LENGTH}. ` +
    'Use a shorter Engage audience key, or choose a Criteo list for this mapping.'
  )
}
export const NOT_A_LIST_ID =
  "Not a Criteo list id: the Criteo list field, or the Engage audience's external id, must hold digits only."

const SHA256_HEX = /^[0-9a-f]{64}$/
// Deliberately loose: one "@", no white space, a dot in the domain. Criteo does the strict check and counts what it rejects.
const EMAIL_SHAPE = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/

/**
 * Invisible format characters (Unicode category Cf: zero-width spaces and joiners, the byte-order mark, soft hyphens,
 * direction marks). Pasted or exported text picks them up; no identifier holds one on purpose, and a hash taken with
 * one inside can never match.
 */
const INVISIBLE = /\p{Cf}/u
const EVERY_INVISIBLE = /\p{Cf}/gu

/** A raw identifier without its surrounding white space or any invisible character. */
export function stripInvisible(raw: string): string {
  const trimmed = raw.trim()
  // Checked first: nearly every identifier has none, and the test is cheaper than a replace that changes nothing.
  return INVISIBLE.test(trimmed) ? trimmed.replace(EVERY_INVISIBLE, '').trim() : trimmed
}

/** Trimmed, stripped of invisible characters, and lowercased: the form Criteo matches on, and every hash is taken of. */
export function normalizeEmail(raw: string): string {
  return stripInvisible(raw).toLowerCase()
}

export function isSha256Hex(value: string): boolean {
  // The length first: it rules out nearly every email without running the expression.
  return value.length === 64 && SHA256_HEX.test(value)
}

/** What a normalized email field holds: already a SHA-256 hash, an email address, or neither. */
export function emailForm(normalized: string): 'hash' | 'address' | undefined {
  if (isSha256Hex(normalized)) return 'hash'
  return EMAIL_SHAPE.test(normalized) ? 'address' : undefined
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
  const form = emailForm(normalized)
  if (form === 'hash') return { ok: true, value: normalized }
  if (form === undefined) return { ok: false, reason: NOT_AN_EMAIL }
  return { ok: true, value: hash ? sha256Hex(normalized) : normalized }
}

/** What a raw optional identifier field becomes: nothing to send, the identifier to send, or why it cannot be sent. */
export type PreparedOptional = PreparedIdentifier | { ok: 'absent' }

const ABSENT = { ok: 'absent' } as const
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const ZERO_UUID = '00000000-0000-0000-0000-000000000000'
// Criteo's spec gives no format for identityLink or GUM ids; one printable token of sane length is what we check.
const OPAQUE_ID = /^\S{1,512}$/

function isAbsent(raw: unknown): boolean {
  return raw === undefined || raw === null || (typeof raw === 'string' && stripInvisible(raw) === '')
}

/**
 * A mobile advertising id: an IDFA (iOS) or AAID (Android), both UUIDs, sent lowercased and never hashed. The all-zero
 * id a device reports when its user limited ad tracking identifies nobody: it counts as absent, not as an error.
 */
export function prepareMadid(raw: unknown): PreparedIdentifier | { ok: 'absent'; zeroed?: boolean } {
  if (isAbsent(raw)) return ABSENT
  if (typeof raw !== 'string') return { ok: false, reason: NOT_A_MADID }
  const value = stripInvisible(raw).toLowerCase()
  if (!UUID.test(value)) return { ok: false, reason: NOT_A_MADID }
  if (value === ZERO_UUID) return { ok: 'absent', zeroed: true }
  return { ok: true, value }
}

/** An identityLink (LiveRamp) or GUM id: opaque tokens, sent exactly as given apart from surrounding white space. */
export function prepareOpaqueId(raw: unknown, invalid: string): PreparedOptional {
  if (isAbsent(raw)) return ABSENT
  if (typeof raw !== 'string' && typeof raw !== 'number') return { ok: false, reason: invalid }
  const value = stripInvisible(String(raw))
  return OPAQUE_ID.test(value) ? { ok: true, value } : { ok: false, reason: invalid }
}

/** The GUM caller id setting as the integer Criteo wants, or undefined when it is empty or not digits. */
export function gumCallerIdOf(setting: unknown): number | undefined {
  const text = typeof setting === 'number' ? String(setting) : typeof setting === 'string' ? setting.trim() : ''
  return /^\d{1,15}$/.test(text) ? Number(text) : undefined
}

/** Whether the GUM caller id setting is filled in with something that is not one: "Test connection" says so. */
export function isBadGumCallerId(setting: unknown): boolean {
  const filled = typeof setting === 'number' || (typeof setting === 'string' && setting.trim() !== '')
  return filled && gumCallerIdOf(setting) === undefined
}

/** An audience key names a Criteo list: it must hold something besides white space. It is used exactly as given. */
export function isUsableAudienceKey(key: unknown): key is string {
  return typeof key === 'string' && key.trim() !== ''
}
