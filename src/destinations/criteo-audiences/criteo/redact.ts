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
/** A field of an answer repeated in a message (an operation, an identifier type) is cut to this: each is one word. */
export const MAX_FIELD_LENGTH = 40
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
 *
 * Every value is replaced before the text is cut, never after: a value cut in two is no longer found, and its first
 * part would be repeated. The read bound is stretched by the longest known value, so one that starts within it is
 * read whole, and whatever word the bound cuts is dropped.
 */
export function redactorFor({ secrets = [], identifiers = [] }: RedactionSources): Redact {
  let longest = 0
  for (const value of secrets) longest = Math.max(longest, value.length)
  for (const value of identifiers) longest = Math.max(longest, value.length)
  const readTo = MAX_TITLE_READ + longest
  return (text) => {
    const unread = text.length > readTo
    let clean = unread ? cutWords(text, readTo) : text
    for (const value of secrets) clean = replaceAll(clean, value)
    for (const value of identifiers) clean = replaceAll(clean, value)
    for (const shape of SHAPES) clean = clean.replace(shape, REDACTED)
    return unread && clean.length <= MAX_TITLE_LENGTH ? `${clean.trimEnd()}…` : cutAt(clean, MAX_TITLE_LENGTH)
  }
}

/**
 * `text` at most `max` characters long, marked "…" when cut. A word the cut falls in is dropped whole: a part of a
 * word says nothing, and a part of an identifier no rule recognizes any more.
 */
export function cutAt(text: string, max: number): string {
  return text.length > max ? `${cutWords(text, max).trimEnd()}…` : text
}

/** The first `at` characters of `text`, less the start of a word that runs on past them. */
function cutWords(text: string, at: number): string {
  let end = at
  if (/\S/.test(text.charAt(at))) while (end > 0 && /\S/.test(text.charAt(end - 1))) end--
  return text.slice(0, end)
}

function replaceAll(text: string, value: string): string {
  return value.length > 0 && text.includes(value) ? text.split(value).join(REDACTED) : text
}

/** Shapes only: for answers to requests that carried nothing secret beyond what the shapes catch. */
export const redactShapes: Redact = redactorFor({})
