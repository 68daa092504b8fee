/**
 * Limits of Criteo's API and of this destination, each with where it comes from.
 */

/**
 * Identifiers per contact-list amendment. Criteo's OpenAPI spec sets no maxItems, but every public Criteo sync
 * (Segment's, Hightouch's, Tealium's, RudderStack's) caps amendments at 50,000, matching Criteo's guidance.
 */
export const MAX_IDENTIFIERS_PER_AMENDMENT = 50_000

/** Requests a minute Criteo allows one app (client-credentials id), across all its calls: Criteo's rate-limit docs. */
export const CRITEO_REQUESTS_PER_MINUTE = 250

/**
 * Events Segment puts in one batch for this destination unless told otherwise (the hidden Batch size field). A
 * thousand keeps a batch's amendments small and its outcome quick; amendments themselves can take 50,000.
 */
export const DEFAULT_BATCH_SIZE = 1000

/** `limit` of the audience-segments search endpoint: Criteo rejects anything above 100. */
export const SEARCH_PAGE_SIZE = 100

/** Criteo's tokens live 900 s. We stop using one this long before it expires, so no call races its expiry. */
export const TOKEN_EXPIRY_MARGIN_SECONDS = 60

/**
 * How long a resolved list id is trusted. Lists rarely change, and a list deleted in Criteo is caught on the next
 * amendment (`audience-invalid`) anyway; the expiry only bounds how long a renamed list keeps receiving users.
 */
export const AUDIENCE_CACHE_TTL_MS = 60 * 60 * 1000

/**
 * A token this worker fetched this recently is what `refreshAccessToken` gives for the other batches whose token
 * expired with it (they come within a request or two), rather than fetching another. An older one is not handed to
 * Segment: the whole fleet would then hold a token that expires early.
 */
export const TOKEN_REUSE_MS = 30 * 1000

/**
 * How long credentials the token endpoint refused are believed refused: bad credentials cost one token request a
 * minute per worker, not one for every batch and every retry actions-core makes to refresh a token. Credentials an
 * admin corrects are new credentials, and are asked about at once.
 */
export const REFUSED_CREDENTIALS_TTL_MS = 60 * 1000

/**
 * How long what Criteo's rate-limit headers last said is kept: a little beyond its one-minute window, so a state read
 * late still says when its window ended.
 */
export const RATE_LIMIT_STATE_TTL_MS = 2 * 60 * 1000

/** Tokens and rate-limit states kept, one per set of credentials, so a worker serving many workspaces stays small. */
export const CACHE_MAX_ENTRIES = 10_000

/**
 * Lists remembered per advertiser and set of credentials (names batches sync to, ids they chose or Engage linked): as
 * many as an advertiser can have (Criteo's 1,000 audiences per advertiser, as Braze's Criteo sync quotes it;
 * unverified at Criteo), so a tenant's own lists never push each other out.
 */
export const LISTS_CACHED_PER_TENANT = 1_000

/** Tenants (advertiser and credentials) whose lists are remembered; the least recently used is forgotten first. */
export const CACHED_TENANTS_MAX = 1_000

/** How long an id found not to be one of the advertiser's lists is believed, so a bad id costs a search a minute. */
export const MISSING_LIST_CACHE_TTL_MS = 60 * 1000

/**
 * The longest list name (an audience key) sent to Criteo. Criteo's contract sets no maxLength on a segment's name and
 * its docs give none; 255 is the common limit of such names elsewhere, and an unverified assumption here.
 */
export const MAX_LIST_NAME_LENGTH = 255

/**
 * Extra amendments one amendment may cost to find out which identifiers Criteo did not take, when its counts say
 * some were not taken without naming them: each re-sends half of the unaccounted ones (adds and removes are
 * idempotent), so a few bad identifiers among thousands are found within this many requests.
 */
export const MAX_ACCOUNTING_REQUESTS = 8

/**
 * Every request to Criteo gives up after this long and is reported as retryable. An amendment of 50,000 hashed
 * emails is about 3.4 MB, which Criteo takes a few seconds to accept; actions-core's default of 10 s is too tight.
 */
export const REQUEST_TIMEOUT_MS = 30_000

/** The timeout in force: `CRITEO_REQUEST_TIMEOUT_MS` shortens it for local runs and tests of a hung Criteo. */
export function requestTimeoutMs(): number {
  const override = Number(process.env.CRITEO_REQUEST_TIMEOUT_MS)
  return Number.isFinite(override) && override > 0 ? override : REQUEST_TIMEOUT_MS
}

/** Amendments sent at once for one batch: enough to overlap several audiences, few enough to spare the rate limit. */
export const AMENDMENT_CONCURRENCY = 4
