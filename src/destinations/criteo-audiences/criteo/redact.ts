/**
 * Criteo's error titles can echo what they were sent. Before a title reaches an error message (and from there
 * Segment's event delivery view and every log), anything secret or personal in it is replaced: every value the
 * request carried that must not leak (the client secret, the access token, each identifier), and anything shaped like
 * an identifier even when this request did not carry it (an email address, a hex digest, a UUID such as a madid).
 */

const REDACTED = '[redacted]'

/** Shapes that are never safe to repeat, whatever the request carried. */
const SHAPES: readonly RegExp[] = [
  // An email address, loosely: one "@" between runs of characters that are not separators.
  /[^\s@"'<>(),;:[\]{}]+@[^\s@"'<>(),;:[\]{}]+/g,
  // A UUID: mobile advertising ids (IDFA, AAID) have this shape.
  /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi,
  // A hex digest of 32 characters or more: MD5 and SHA-256 hashes of emails.
  /\b[0-9a-f]{32,}\b/gi
]

/** Titles are cut to this length: a message names what went wrong, it does not carry Criteo's whole body. */
const MAX_TITLE_LENGTH = 300
/** Only this much of a title is read at all, so an answer echoing megabytes costs no more than a short one. */
const MAX_TITLE_READ = 2_000

export interface RedactionSources {
  /** Values of the request that may never be repeated: the client secret, the access token. */
  secrets?: readonly string[]
  /** The identifiers the request carried (emails, hashes, madids, identityLinks, GUM ids). */
  identifiers?: readonly string[]
}

export type Redact = (text: string) => string

/**
 * A redactor for the answer to one request. Known values are replaced wherever they occur, even inside a longer word:
 * an identifier may be echoed with quotes, punctuation or padding around it. Titles are short, so checking each of an
 * amendment's identifiers (up to 50,000) costs about a millisecond, and only when an answer carries a title at all.
 */
export function redactorFor({ secrets = [], identifiers = [] }: RedactionSources): Redact {
  return (text) => {
    let clean = text.slice(0, MAX_TITLE_READ)
    for (const value of secrets) clean = replaceAll(clean, value)
    for (const value of identifiers) clean = replaceAll(clean, value)
    for (const shape of SHAPES) clean = clean.replace(shape, REDACTED)
    return clean.length > MAX_TITLE_LENGTH ? `${clean.slice(0, MAX_TITLE_LENGTH)}…` : clean
  }
}

function replaceAll(text: string, value: string): string {
  return value.length > 0 && text.includes(value) ? text.split(value).join(REDACTED) : text
}

/** Shapes only: for answers to requests that carried nothing secret beyond what the shapes catch. */
export const redactShapes: Redact = redactorFor({})
