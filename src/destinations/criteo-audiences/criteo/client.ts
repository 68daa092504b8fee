import type { RequestClient } from '@segment/actions-core'
import type { RequestOptions } from '@segment/actions-core/request-client'
import { IntegrationError, ErrorCodes, InvalidAuthenticationError, RetryableError } from '@segment/actions-core'
import { LRUCache } from 'lru-cache'
import type { AmendmentCounts } from '../accounting'
import type { z } from 'zod'
import { AUDIENCE_SEGMENTS_PATH as SEGMENTS_PATH, criteoApiUrl } from '../versioning-info'
import {
  AUDIENCE_CACHE_TTL_MS,
  CACHE_MAX_ENTRIES,
  CACHED_TENANTS_MAX,
  LISTS_CACHED_PER_TENANT,
  MISSING_LIST_CACHE_TTL_MS,
  RATE_LIMIT_STATE_TTL_MS,
  REFUSED_CREDENTIALS_TTL_MS,
  requestTimeoutMs,
  SEARCH_PAGE_SIZE,
  TOKEN_EXPIRY_MARGIN_SECONDS,
  TOKEN_REUSE_MS
} from '../limits'
import { amendmentBody, IdentifierType, ListOrigin, ListTarget, Operation } from '../plan'
import { sha256Hex } from '../identifiers'
import {
  criteoError,
  describeAnswer,
  errorsIn,
  hasProblemCode,
  networkError,
  problemError,
  rateLimitResetAt,
  SegmentTokenError,
  tokenError,
  unexpectedResponseError
} from './errors'
import { cutAt, MAX_FIELD_LENGTH, Redact, redactorFor } from './redact'
import {
  AmendmentResponse,
  CreateResponse,
  ListStatistics,
  SearchResponse,
  StatisticsResponse,
  TokenResponse
} from './schemas'

export interface CriteoCredentials {
  advertiser_id: string
  client_id: string
  client_secret: string
}

/** A contact list of the advertiser, as search shows it. */
export interface ContactList {
  id: string
  name: string
}

/** What the destination needs to know of a list before it sends users to it. */
export interface ListInfo {
  id: string
  /** Criteo's `contactList.isReadOnly`: such a list takes no amendment. */
  readOnly: boolean
}

/** What an amendment answer said, as far as the contract lets it say anything (every figure may be null). */
export interface AmendmentResult extends AmendmentCounts {
  contactListId: string
}

/** A promise's outcome as a value: what a batch holds while other work goes on, so no rejection goes unobserved. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: Error }

export function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error: error instanceof Error ? error : new Error(String(error)) })
  )
}

/** What Criteo's `x-ratelimit-*` headers last said about an app: calls left in the window, and when it resets. */
export interface RateLimitState {
  remaining: number
  /** Epoch milliseconds. */
  resetAt: number
}

// Module-level: they outlive one batch, which is what saves the token and lookup requests. Every key starts with a
// fingerprint of the credentials, so one workspace never reads another's token or lists. `Date.now` is their clock,
// read afresh each time, so a test that moves time moves them too.
const clock = { now: () => Date.now() }

/** A token this worker fetched, and when. */
interface OwnToken {
  value: string
  fetchedAt: number
}

const tokens = new LRUCache<string, OwnToken, CriteoClient>({
  max: CACHE_MAX_ENTRIES,
  perf: clock,
  ttlResolution: 0,
  // One token request at a time per set of credentials, shared by every batch that needs one meanwhile.
  fetchMethod: (_key, _stale, { options, context }) => context.fetchToken(options)
})

// Every token this worker fetched, until it expires: when it is due to be replaced (its expiry, less the margin).
// Only the worker that fetched the token Segment keeps for the fleet knows when it expires (Criteo's `expires_in`):
// that worker replaces it a little ahead, while the batches of every other worker can still use it.
const fetchedHere = new LRUCache<string, number>({ max: CACHE_MAX_ENTRIES, perf: clock, ttlResolution: 0 })

// What the token endpoint said to credentials it refused (see REFUSED_CREDENTIALS_TTL_MS).
const refusedCredentials = new LRUCache<string, Error>({
  max: CACHE_MAX_ENTRIES,
  ttl: REFUSED_CREDENTIALS_TTL_MS,
  perf: clock,
  ttlResolution: 0
})

// The run of each batch that asked Segment for a new token: a batch asks once. actions-core runs a batch only once more
// after a refresh, and Segment drops an event that ends with 401; so in that run (another client: one per run), a 401
// on the token just issued is reported retryable instead (STATUS_POLICY). Keyed by the batch object itself, so it goes
// with the batch.
const askedForToken = new WeakMap<object, CriteoClient>()

// Credentials whose host kept no token after actions-core got one: its batches run again with no token held, since
// without an `oauth` object in the settings actions-core has nowhere to put it. Such a host is never asked again, so
// its batches after each expiry are not run twice for nothing: they use this worker's own token, fetched as needed.
const hostKeepsNoToken = new LRUCache<string, true>({ max: CACHE_MAX_ENTRIES })

const rateLimits = new LRUCache<string, RateLimitState>({
  max: CACHE_MAX_ENTRIES,
  ttl: RATE_LIMIT_STATE_TTL_MS,
  perf: clock,
  ttlResolution: 0
})

/** A list id checked against the advertiser's lists: found (with whether it is read-only), or known to be missing. */
type IdCheck = ListInfo | 'missing'

/**
 * One advertiser's lists as seen through one set of credentials. Only what batches asked for is kept (a name they
 * sync to, an id they chose or Engage linked), never every list a search walks past, and at most as many as an
 * advertiser can have lists: so many tenants of many lists each never push each other's lists out.
 */
class TenantLists {
  // Bounded by `maxSize` at one per entry, not by `max`: lru-cache allocates arrays of `max` slots up front (about
  // 40 KB a cache at 1,000), which for CACHED_TENANTS_MAX tenants of a list or two each came to some 70 MB. Without
  // `max` its arrays grow with what they hold; the bound and the order of eviction are the same.
  readonly byName = new LRUCache<string, ListInfo, NameLookup>({
    maxSize: LISTS_CACHED_PER_TENANT,
    sizeCalculation: () => 1,
    ttl: AUDIENCE_CACHE_TTL_MS,
    perf: clock,
    ttlResolution: 0,
    fetchMethod: (name, _stale, { context }) => context.resolve(name)
  })

  readonly byId = new LRUCache<string, IdCheck, CriteoClient>({
    maxSize: LISTS_CACHED_PER_TENANT,
    sizeCalculation: () => 1,
    ttl: AUDIENCE_CACHE_TTL_MS,
    perf: clock,
    ttlResolution: 0,
    fetchMethod: (id, _stale, { options, context }) => context.lookUpListId(id, options)
  })

  /** The name search a batch is running: others wait for it and look in what it saw before searching themselves. */
  search?: Promise<ReadonlyMap<string, ListInfo>>

  /**
   * Names Criteo says are taken by a segment this destination may not use (another type, or another case): what the
   * admin must do, believed for a minute, so that every batch of such an audience does not pay the searches and the
   * create again.
   */
  readonly clashes = new LRUCache<string, string>({
    maxSize: LISTS_CACHED_PER_TENANT,
    sizeCalculation: () => 1,
    ttl: MISSING_LIST_CACHE_TTL_MS,
    perf: clock,
    ttlResolution: 0
  })
}

const tenants = new LRUCache<string, TenantLists>({ max: CACHED_TENANTS_MAX })

/**
 * The names one batch looks up: those no batch has cached share one search, and the ones it does not find are
 * created. A name another batch is already resolving joins that resolution instead (lru-cache's `fetch`).
 */
class NameLookup {
  private search?: Promise<ReadonlyMap<string, ListInfo>>

  constructor(
    private readonly client: CriteoClient,
    private readonly tenant: TenantLists,
    private readonly names: ReadonlySet<string>
  ) {}

  async resolve(name: string): Promise<ListInfo> {
    const clash = this.tenant.clashes.get(name)
    if (clash !== undefined) throw nameClash(clash)
    const running = this.tenant.search
    if (running !== undefined && running !== this.search) {
      // Another batch's search may walk past this name: wait for it rather than start a second one.
      const seen = await settle(running)
      const found = seen.ok ? seen.value.get(name) : undefined
      if (found) return found
    }
    if (this.search === undefined) {
      const search = this.client.searchNames(this.names)
      this.search = search
      this.tenant.search = search
      void search.then(
        () => this.forget(search),
        () => this.forget(search)
      )
    }
    return (await this.search).get(name) ?? this.client.createList(name)
  }

  private forget(search: Promise<unknown>) {
    if (this.tenant.search === search) this.tenant.search = undefined
  }
}

/**
 * The rate-limit state Criteo last reported for these credentials, if any answer carried it. A host that runs
 * batches itself (npm start) paces them with it, so that it waits for the next window instead of spending requests
 * on 429s; the destination itself never waits.
 */
export function lastRateLimit(
  credentials: Pick<CriteoCredentials, 'client_id' | 'client_secret'>
): RateLimitState | undefined {
  return rateLimits.get(credentialsKeyOf(credentials))
}

function observeRateLimit(key: string, headers: Headers | undefined): void {
  const remaining = Number(headers?.get('x-ratelimit-remaining') ?? NaN)
  const reset = rateLimitResetAt(headers)
  if (!Number.isFinite(remaining) || reset === undefined) return
  const resetAt = reset * 1000
  const known = rateLimits.get(key)
  // Answers can arrive out of order: within one window, the lowest count left is the latest.
  if (known && known.resetAt === resetAt && known.remaining <= remaining) return
  if (known && known.resetAt > resetAt) return
  rateLimits.set(key, { remaining, resetAt })
}

/** Hashed, so the secret itself is never held as a map key. */
function credentialsKeyOf(credentials: Pick<CriteoCredentials, 'client_id' | 'client_secret'>): string {
  return sha256Hex(`${credentials.client_id}\u0000${credentials.client_secret}`)
}

/** Forgets every cached token and list: for tests, and for a host that wants a clean start. */
export function resetCriteoCaches(): void {
  rateLimits.clear()
  refusedCredentials.clear()
  hostKeepsNoToken.clear()
  fetchedHere.clear()
  tokens.clear()
  tenants.clear()
}

interface Answer {
  status: number
  body: unknown
  headers: Headers | undefined
  /** Cleans what the answer echoes of the request: its secret, its token, its identifiers. */
  redact: Redact
}

interface CallOptions {
  method: 'GET' | 'POST' | 'PATCH'
  json?: unknown
  searchParams?: Record<string, string | number>
  /** Identifiers the request carries: never repeated from an answer into a message. */
  identifiers?: readonly string[]
}

/**
 * Where a client's calls get their bearer token. Without one (the connection test, the command line), or once the
 * token Segment holds is refused where no actions-core stands behind the call, the client uses this worker's own
 * token: cached until shortly before it expires, one per set of credentials.
 */
export interface TokenSource {
  /**
   * The token Segment keeps for these credentials (`settings.oauth.access_token`, which actions-core hands on as
   * `auth.accessToken`), when the host keeps one: the same for every worker of the fleet, so it is used first.
   */
  held?: string
  /**
   * The batch the calls are made for, as actions-core identifies it across its attempts: the settings object it hands
   * every attempt of one `onBatch` or `onEvent`. Given only for batches and single events, where actions-core stands
   * behind the call: on a 401 it gets a new token (`refreshAccessToken`), gives it to the host to keep
   * (`onTokenRefresh`) and runs the batch again. Such a batch with no token held and none cached asks Segment for
   * one rather than fetching its own, so that a host that keeps tokens keeps the one every worker then uses.
   */
  batch?: object
}

interface Bearer {
  token: string
  /** Whether it is the token Segment holds, rather than this worker's own. */
  held: boolean
}

/** What a batch whose token Segment replaces is told, after what Criteo answered. */
const SEGMENT_GETS_A_TOKEN = 'Segment gets a new access token and sends the batch again.'

/** The filters of one search of the advertiser's contact lists. */
interface SearchFilter {
  /** Only these lists (`audienceSegmentIds`): how a chosen or linked id is checked in one request. */
  ids?: readonly string[]
  /** Segments of every type, not contact lists only: only to find what holds a name Criteo says is taken. */
  anyType?: boolean
}

/**
 * Whether a search item of this type is a contact list: an item without a type counts as one, since the type is
 * optional in the contract and the search asks for contact lists.
 */
function isContactList(type: string | undefined): boolean {
  return type === undefined || type === 'ContactList'
}

/** A segment as one search item shows it: its type is known only when Criteo gives it. */
type SegmentInfo = ListInfo & { name?: string; type?: string }

/**
 * A segment as one search item shows it, once checked to be the advertiser's (and a contact list, unless `anyType`);
 * undefined when it is not.
 */
function segmentOf(
  item: NonNullable<SearchResponse['data']>[number],
  advertiserId: string,
  anyType = false
): SegmentInfo | undefined {
  const { id, attributes } = item
  if (!id) return undefined
  // The filters should guarantee both; a list of another advertiser must never receive this one's users.
  if (attributes?.advertiserId != null && attributes.advertiserId !== advertiserId) return undefined
  const type = attributes?.type ?? undefined
  if (!anyType && !isContactList(type)) return undefined
  return { id, name: attributes?.name ?? undefined, readOnly: attributes?.contactList?.isReadOnly === true, type }
}

/**
 * Everything this destination says to Criteo goes through here: the token, list lookups and creation, amendments,
 * and the mapping of every failure to an actions-core error.
 */
export class CriteoClient {
  private readonly credentialsKey: string
  private readonly tenantKey: string
  /** Set once the token Segment holds was refused where nobody would replace it: this worker's own is used instead. */
  private ownToken = false
  /** Set when this run of a batch must ask Segment for a first token (see `TokenSource.batch`): it sends nothing. */
  private readonly tokenMissing?: SegmentTokenError

  constructor(
    private readonly request: RequestClient,
    private readonly settings: CriteoCredentials,
    private readonly tokenSource: TokenSource = {}
  ) {
    this.credentialsKey = credentialsKeyOf(settings)
    this.tenantKey = JSON.stringify([this.credentialsKey, settings.advertiser_id])
    const { held, batch } = tokenSource
    if (batch === undefined) return
    if (askedForToken.has(batch)) {
      if (held === undefined) hostKeepsNoToken.set(this.credentialsKey, true)
      return
    }
    if (held === undefined && !tokens.has(this.credentialsKey) && !hostKeepsNoToken.has(this.credentialsKey)) {
      askedForToken.set(batch, this)
      this.tokenMissing = new SegmentTokenError(
        `No Criteo access token is held for these credentials yet. ${SEGMENT_GETS_A_TOKEN}`,
        batch
      )
    } else if (held !== undefined && clock.now() >= (fetchedHere.get(held) ?? Infinity)) {
      askedForToken.set(batch, this)
      this.tokenMissing = new SegmentTokenError(
        `The Criteo access token Segment holds expires within ${TOKEN_EXPIRY_MARGIN_SECONDS} s. ${SEGMENT_GETS_A_TOKEN}`,
        batch
      )
    }
  }

  /**
   * The error every event of a batch reports when it must first ask Segment for a token (none held yet, or the one
   * held, which this worker fetched, about to expire): checked before anything starts, since lookups are shared with
   * other batches, which hold tokens of their own.
   */
  missingToken(): SegmentTokenError | undefined {
    return this.tokenMissing
  }

  /** This worker's own access token: cached until shortly before it expires, one request shared by concurrent callers. */
  async accessToken(): Promise<string> {
    return ((await tokens.fetch(this.credentialsKey, { context: this })) as OwnToken).value
  }

  /**
   * The token `refreshAccessToken` gives Segment in place of `refused`: the one this worker fetched moments ago, if
   * it did, so that its batches whose token expired together cost one token request, not one each; else a new one.
   */
  async replaceToken(refused: string | undefined): Promise<string> {
    const own = tokens.peek(this.credentialsKey)
    if (own !== undefined) {
      if (own.value !== refused && clock.now() - own.fetchedAt < TOKEN_REUSE_MS) return own.value
      tokens.delete(this.credentialsKey)
    }
    return this.accessToken()
  }

  /** Checks that these credentials get a token and can read this advertiser's audiences. */
  async checkAccess(): Promise<void> {
    const what = `Reading the audiences of advertiser ${this.settings.advertiser_id}`
    const answer = await this.call(what, `${SEGMENTS_PATH}/search`, this.searchOptions(0, 1, {}))
    // Warnings (a deprecation notice, say) are normal in a successful answer; errors and refusals are not.
    const refused = [400, 403, 404].includes(answer.status)
    if (refused || (answer.status < 300 && errorsIn(answer.body).length > 0)) {
      throw new IntegrationError(
        `The Client ID and Client Secret are valid, but cannot reach advertiser ${this.settings.advertiser_id}: ` +
          `Criteo answered ${describeAnswer(answer.status, answer.body, answer.redact)}. Check the Advertiser ID, ` +
          'and that the Criteo app of this Client ID has been granted access to that advertiser.',
        ErrorCodes.FORBIDDEN,
        403
      )
    }
    this.parse(what, answer, SearchResponse)
  }

  /** The id of the contact list named `name`, found or created; cached, and shared by concurrent batches. */
  async listId(name: string): Promise<string> {
    return writable(await (this.listsByName([name]).get(name) as Promise<ListInfo>), name)
  }

  /**
   * Lists for several names at once. Names neither cached nor already being resolved share a single search; the ones
   * it does not find are created.
   */
  listsByName(names: readonly string[]): Map<string, Promise<ListInfo>> {
    const tenant = this.tenant()
    const lookup = new NameLookup(this, tenant, new Set(names.filter((name) => !tenant.byName.has(name))))
    const result = new Map<string, Promise<ListInfo>>()
    for (const name of names) {
      result.set(
        name,
        this.ownLookup(() => tenant.byName.fetch(name, { context: lookup }) as Promise<ListInfo>)
      )
    }
    return result
  }

  /**
   * The list id for each target, keyed by `targetKey`, as settled values (a batch holds them while it sends other
   * chunks, so none may reject unobserved): lists named after an audience are found or created; a list chosen by id
   * or linked by Engage is checked to be one of the advertiser's writable contact lists.
   */
  resolveTargets(targets: ReadonlyMap<string, ListTarget>): Map<string, Promise<Settled<string>>> {
    const names = [...new Set([...targets.values()].flatMap((target) => (target.kind === 'name' ? [target.name] : [])))]
    const byName = names.length > 0 ? this.listsByName(names) : new Map<string, Promise<ListInfo>>()
    const result = new Map<string, Promise<Settled<string>>>()
    for (const [key, target] of targets) {
      const id =
        target.kind === 'name'
          ? (byName.get(target.name) as Promise<ListInfo>).then((list) => writable(list, target.name))
          : this.checkListId(target.id, target.kind)
      result.set(key, settle(id))
    }
    return result
  }

  /**
   * `id` itself when it is one of this advertiser's contact lists and takes amendments; otherwise an error that says
   * what to do. Costs one search filtered by the id, once an hour at most (a minute for an id found missing).
   */
  async checkListId(id: string, origin: ListOrigin = 'chosen'): Promise<string> {
    const check = await this.ownLookup(() => this.tenant().byId.fetch(id, { context: this }))
    if (check === undefined || check === 'missing') throw this.listNotFound(id, origin)
    return writable(check, undefined, origin)
  }

  /** The id check behind `checkListId`: one search of the advertiser's contact lists, filtered by the id. */
  async lookUpListId(id: string, options: { ttl?: number }): Promise<IdCheck> {
    const list = await this.findListById(id)
    if (list !== undefined) return { id, readOnly: list.readOnly }
    options.ttl = MISSING_LIST_CACHE_TTL_MS
    return 'missing'
  }

  /**
   * The list `id` with its name, when it is one of this advertiser's writable contact lists (what a mapping saves);
   * otherwise an error that says what to do. The check is remembered as `checkListId`'s.
   */
  async describeList(id: string): Promise<ContactList> {
    const list = await this.findListById(id)
    if (list === undefined) throw this.listNotFound(id, 'saved')
    this.tenant().byId.set(id, { id, readOnly: list.readOnly })
    writable(list, undefined, 'saved')
    return { id, name: list.name ?? id }
  }

  private async findListById(id: string): Promise<(ListInfo & { name?: string }) | undefined> {
    const found: { list?: ListInfo & { name?: string } } = {}
    await this.searchLists({ ids: [id] }, (list) => {
      if (list.id === id) found.list = list
      return found.list !== undefined
    })
    return found.list
  }

  /** Every contact list of the advertiser, by name: what an admin picks from when choosing a list. */
  async contactLists(): Promise<ContactList[]> {
    const lists: ContactList[] = []
    await this.searchLists({}, (list) => {
      if (list.name !== undefined) lists.push({ id: list.id, name: list.name })
      return false
    })
    return lists.sort((a, b) => a.name.localeCompare(b.name) || Number(a.id) - Number(b.id))
  }

  /**
   * Adds or removes identifiers on a list. A list deleted in Criteo answers `audience-invalid`: for a list named after
   * its audience the id is forgotten, the list found or created again, and the amendment sent once more (and if the
   * search still shows the deleted list, the events are retried until Criteo stops showing it and it is recreated); a
   * list given by id is reported as gone, since sending its users anywhere else would misplace them.
   */
  async amend(
    target: ListTarget,
    listId: string,
    operation: Operation,
    identifierType: IdentifierType,
    identifiers: string[],
    gumCallerId?: number
  ): Promise<AmendmentResult> {
    const body = amendmentBody(operation, identifierType, identifiers, gumCallerId)
    for (let attempt = 1, id = listId; ; attempt++) {
      const named = target.kind === 'name' ? ` ("${target.name}")` : ''
      const what = `${operation === 'add' ? 'Adding users to' : 'Removing users from'} Criteo list ${id}${named}`
      const answer = await this.call(what, `${SEGMENTS_PATH}/${encodeURIComponent(id)}/contact-list`, {
        method: 'PATCH',
        json: body,
        identifiers
      })
      if (isListGone(answer)) {
        if (target.kind !== 'name') {
          this.forgetId(id)
          throw this.listNotFound(id, target.kind)
        }
        this.forgetName(target.name, id)
        const again = attempt === 1 ? await this.listId(target.name) : id
        if (again === id) {
          // Not kept: the next attempt looks the name up again, and finds the list once Criteo stops showing it.
          this.forgetName(target.name, id)
          throw listStillShown(what, id)
        }
        id = again
        continue
      }
      const parsed = this.parse(what, answer, AmendmentResponse)
      const [error] = parsed.errors
      if (error) throw problemError(what, answer.status, error, answer.redact)
      const { attributes } = parsed.data
      checkAnswerIsFor(what, id, operation, identifierType, attributes, answer.redact)
      return {
        contactListId: id,
        nbValidIdentifiers: attributes.nbValidIdentifiers,
        nbInvalidIdentifiers: attributes.nbInvalidIdentifiers,
        sampleInvalidIdentifiers: attributes.sampleInvalidIdentifiers
      }
    }
  }

  private listNotFound(id: string, origin: ListOrigin): IntegrationError {
    const advertiser = this.settings.advertiser_id
    const fix = {
      chosen:
        'Pick a list from the Criteo list drop-down of this mapping, or clear the field to sync to the list named after the audience.',
      saved: "Save the mapping again, to create a list or pick one of the advertiser's.",
      engage: 'Reconnect the audience to this destination in Engage, so that a list is created or linked again.'
    }[origin]
    return new IntegrationError(
      `Criteo list ${id} does not exist, or is not a contact list of advertiser ${advertiser}. ${fix}`,
      ErrorCodes.NOT_FOUND,
      404
    )
  }

  /** How many identifiers a list holds, as Criteo counts them (Criteo's own figures lag by 12 to 24 hours). */
  async listStatistics(listId: string): Promise<ListStatistics> {
    const what = `Reading the size of Criteo list ${listId}`
    const answer = await this.call(what, `${SEGMENTS_PATH}/${encodeURIComponent(listId)}/contact-list/statistics`, {
      method: 'GET'
    })
    return this.parse(what, answer, StatisticsResponse).data?.attributes ?? {}
  }

  /** Called by the token cache (`tokens.fetch`); sets how long the token is kept from its own lifetime. */
  async fetchToken(options: { ttl?: number }): Promise<OwnToken> {
    const refused = refusedCredentials.get(this.credentialsKey)
    if (refused !== undefined) throw refused
    const what = 'Getting a Criteo access token'
    const answer = await this.send(
      what,
      `${criteoApiUrl()}/oauth2/token`,
      {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: this.settings.client_id,
          client_secret: this.settings.client_secret
        }),
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }
      },
      this.redactor()
    )
    if (answer.status >= 300) {
      const error = tokenError(answer.status, answer.body, answer.headers, answer.redact)
      if (error instanceof InvalidAuthenticationError) refusedCredentials.set(this.credentialsKey, error)
      throw error
    }
    const token = this.parse(what, answer, TokenResponse)
    const lifetime = Math.max(token.expires_in - TOKEN_EXPIRY_MARGIN_SECONDS, token.expires_in / 2)
    const fetchedAt = clock.now()
    options.ttl = lifetime * 1000
    fetchedHere.set(token.access_token, fetchedAt + options.ttl, { ttl: token.expires_in * 1000 })
    return { value: token.access_token, fetchedAt }
  }

  /**
   * Pages through this advertiser's contact lists (those with `filter.ids` only, when given), handing each to `visit`,
   * until a page in which it said it has seen enough, or the last page. Items of another advertiser or type are never
   * visited.
   */
  private async searchLists(filter: SearchFilter, visit: (list: SegmentInfo) => boolean): Promise<void> {
    const what = `Looking up the contact lists of advertiser ${this.settings.advertiser_id}`
    for (let offset = 0; ;) {
      const answer = await this.call(
        what,
        `${SEGMENTS_PATH}/search`,
        this.searchOptions(offset, SEARCH_PAGE_SIZE, filter)
      )
      const page = this.parse(what, answer, SearchResponse)
      const [error] = page.errors ?? []
      if (error) throw problemError(what, answer.status, error, answer.redact)
      const items = page.data ?? []
      // The whole page is visited even once `visit` has enough: it is paid for, and batches waiting on a name search
      // may find their lists in it.
      let enough = false
      for (const item of items) {
        const list = segmentOf(item, this.settings.advertiser_id, filter.anyType)
        if (list && visit(list)) enough = true
      }
      if (enough || items.length === 0) return
      offset += items.length
      // The contract lets a page be shorter than asked: while Criteo gives a total, it alone says whether more are
      // left. Only without one does a short page mean the last. An empty page ends the search whatever the total
      // says, so a total that overstates can never make it loop.
      const total = page.meta?.totalItems
      if (total != null ? offset >= total : items.length < SEARCH_PAGE_SIZE) return
    }
  }

  /**
   * Searches for lists by name until each of `names` is seen or the pages run out. Returns every list it saw by name
   * (the first of a name wins): batches waiting on this search look there, and only the lists they ask for are kept.
   */
  async searchNames(names: ReadonlySet<string>): Promise<ReadonlyMap<string, ListInfo>> {
    const seen = new Map<string, ListInfo>()
    let missing = names.size
    await this.searchLists({}, (list) => {
      if (list.name === undefined || seen.has(list.name)) return false
      seen.set(list.name, { id: list.id, readOnly: list.readOnly })
      if (names.has(list.name)) missing--
      return missing === 0
    })
    return seen
  }

  /** Creates the list `name`; when Criteo says the name is taken, finds the list that holds it. */
  async createList(name: string): Promise<ListInfo> {
    const what = `Creating Criteo list "${name}" for advertiser ${this.settings.advertiser_id}`
    const answer = await this.call(what, `${SEGMENTS_PATH}/create`, {
      method: 'POST',
      json: {
        data: [
          {
            attributes: { advertiserId: this.settings.advertiser_id, name, description: name, contactList: {} }
          }
        ]
      }
    })
    // Another worker created it first: Criteo says so either as a 400 or as a 200 with the item in errors/warnings.
    if ((answer.status === 400 || answer.status < 300) && hasProblemCode(answer.body, 'name-must-be-unique')) {
      return this.listHoldingName(what, name)
    }
    const created = this.parse(what, answer, CreateResponse)
    const id = created.data?.find((item) => item.id)?.id
    if (id) return { id, readOnly: false }
    // Nothing created: the item's own error says why, and whether it passes; with none, the answer is not one Criteo
    // documents, and a retry (which searches first) finds the list if it was created after all.
    const [problem] = [...(created.errors ?? []), ...(created.warnings ?? [])]
    if (problem) throw problemError(what, answer.status, problem, answer.redact)
    throw unexpectedResponseError(what, 'no list id and no error')
  }

  /**
   * Criteo refused a name as taken. The contact list that holds exactly that name is used, with whether it is
   * read-only, which the caller checks as for a list found by search. Criteo keeps names unique across segments of
   * every type ("Another Segment exists with the name"), so segments of every type are searched: a name held by a
   * segment of another type, or by a list whose name differs only in case or spacing, is a clash no retry can resolve,
   * reported for good with what the admin can do (and believed for a minute: `TenantLists.clashes`). Nothing holding
   * the name at all means Criteo's search does not show the new list yet, which a later attempt will see.
   */
  private async listHoldingName(what: string, name: string): Promise<ListInfo> {
    const wanted = looseName(name)
    const found: { exact?: ListInfo; taken?: SegmentInfo; similar?: SegmentInfo } = {}
    await this.searchLists({ anyType: true }, (segment) => {
      const isList = isContactList(segment.type)
      if (segment.name === name && isList) found.exact = { id: segment.id, readOnly: segment.readOnly }
      else if (segment.name === name) found.taken ??= segment
      else if (segment.name !== undefined && looseName(segment.name) === wanted) found.similar ??= segment
      return found.exact !== undefined
    })
    if (found.exact !== undefined) return found.exact
    const advertiser = this.settings.advertiser_id
    const clash = found.taken ?? found.similar
    if (clash === undefined) {
      throw new RetryableError(
        `${what} failed: Criteo says the name is taken, but its search does not show the list yet.`,
        503
      )
    }
    const isList = isContactList(clash.type)
    const holder = `${isList ? 'a list' : `a ${clash.type} segment`} "${clash.name ?? ''}" (${clash.id})`
    const why =
      clash === found.taken
        ? 'Criteo keeps segment names unique across types, and this one is not a contact list.'
        : 'Criteo does not tell segment names apart by case or spacing.'
    const fix = isList
      ? `Rename the Engage audience, or choose list ${clash.id} in the Criteo list field of this mapping to sync to it.`
      : 'Rename the Engage audience (or that segment in Criteo), or choose a contact list in the Criteo list field of this mapping.'
    const message = `${what} failed: Criteo says the name is taken, and advertiser ${advertiser} has ${holder}: ${why} ${fix}`
    this.tenant().clashes.set(name, message)
    throw nameClash(message)
  }

  private tenant(): TenantLists {
    let tenant = tenants.get(this.tenantKey)
    if (tenant === undefined) {
      tenant = new TenantLists()
      tenants.set(this.tenantKey, tenant)
    }
    return tenant
  }

  private forgetName(name: string, id: string): void {
    const lists = this.tenant().byName
    if (lists.peek(name)?.id === id) lists.delete(name)
  }

  private forgetId(id: string): void {
    this.tenant().byId.delete(id)
  }

  private searchOptions(offset: number, limit: number, filter: SearchFilter): CallOptions {
    return {
      method: 'POST',
      searchParams: { limit, offset },
      json: {
        data: {
          attributes: {
            advertiserIds: [this.settings.advertiser_id],
            ...(filter.ids ? { audienceSegmentIds: filter.ids } : {}),
            ...(filter.anyType ? {} : { audienceSegmentTypes: ['ContactList'] })
          }
        }
      }
    }
  }

  /** What may never be repeated from an answer to a request of these credentials. */
  private redactor(identifiers?: readonly string[], token?: string): Redact {
    return redactorFor({ secrets: [this.settings.client_secret, ...(token ? [token] : [])], identifiers })
  }

  /**
   * One API call with a bearer token: the one Segment holds, if any, else this worker's own. A 401 means the token
   * expired or was revoked, and so does a 2xx whose errors say so (`tokenRefused`). Segment's is handed back to Segment (once per batch) where actions-core stands behind the
   * call, and replaced by this worker's own elsewhere; this worker's own is dropped and fetched again, once. A 401 on
   * the token just issued is left for the caller to report: retryable, by STATUS_POLICY.
   */
  private async call(what: string, path: string, options: CallOptions): Promise<Answer> {
    for (let refetched = false; ;) {
      const { token, held } = await this.bearer()
      const answer = await this.send(
        what,
        `${criteoApiUrl()}${path}`,
        {
          method: options.method,
          json: options.json,
          searchParams: options.searchParams,
          headers: { authorization: `Bearer ${token}`, accept: 'application/json' }
        },
        this.redactor(options.identifiers, token)
      )
      if (!tokenRefused(answer)) return answer
      const { batch } = this.tokenSource
      if (held && batch !== undefined) {
        const asked = askedForToken.get(batch)
        // actions-core's run after its refresh, with the token it just got: asking again would get the events dropped.
        if (asked !== undefined && asked !== this) return answer
        askedForToken.set(batch, this)
        const answered = describeAnswer(answer.status, answer.body, answer.redact)
        throw new SegmentTokenError(`${what} failed: Criteo answered ${answered}. ${SEGMENT_GETS_A_TOKEN}`, batch)
      }
      if (held) this.ownToken = true
      else if (refetched) return answer
      else {
        if (tokens.peek(this.credentialsKey)?.value === token) tokens.delete(this.credentialsKey)
        refetched = true
      }
    }
  }

  /** The token of the next call (see `TokenSource`). */
  private async bearer(): Promise<Bearer> {
    if (this.tokenMissing !== undefined) throw this.tokenMissing
    const { held } = this.tokenSource
    if (held !== undefined && !this.ownToken) return { token: held, held: true }
    return { token: await this.accessToken(), held: false }
  }

  /**
   * A lookup that other batches may share (lru-cache's `fetch` hands a lookup in progress to every batch that wants
   * the same list). When the one this batch joined failed because another batch's token was refused, that says
   * nothing about this batch's token: the lookup runs again, with it. A second such failure is retried later.
   */
  private async ownLookup<T>(lookup: () => Promise<T>): Promise<T> {
    const othersToken = (error: unknown): error is SegmentTokenError =>
      error instanceof SegmentTokenError && error.batch !== this.tokenSource.batch
    try {
      return await lookup()
    } catch (error) {
      if (!othersToken(error)) throw error
    }
    try {
      return await lookup()
    } catch (error) {
      if (!othersToken(error)) throw error
      throw new RetryableError(
        `${error.message.replace(SEGMENT_GETS_A_TOKEN, '').trim()} This lookup was shared with other batches; the events will be retried.`,
        503
      )
    }
  }

  /**
   * The one place a request leaves. actions-core's own timeout stops at the response headers; the deadline here also
   * bounds reading the body, so a connection cut mid-response fails within the timeout instead of hanging. When the
   * deadline passes, the request is aborted for real (see `abortOnDeadline`), so nothing of it stays in memory.
   */
  private async send(what: string, url: string, options: RequestOptions, redact: Redact): Promise<Answer> {
    const timeout = requestTimeoutMs()
    const abort = abortOnDeadline()
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.now()
        reject(Object.assign(new Error('deadline'), { name: 'TimeoutError' }))
      }, timeout)
    })
    try {
      const response = await Promise.race([
        this.request(url, {
          ...options,
          throwHttpErrors: false,
          timeout,
          skipResponseCloning: true,
          // Not in RequestOptions' type, but merged into the request's own hooks (test/reliability/leak.test.ts).
          beforeRequest: [abort.remember]
        } as RequestOptions),
        deadline
      ])
      observeRateLimit(this.credentialsKey, response.headers)
      return { status: response.status, body: response.data, headers: response.headers, redact }
    } catch (error) {
      throw networkError(what, error)
    } finally {
      clearTimeout(timer)
    }
  }

  /** A 2xx answer's body, checked against its schema; anything else becomes the error the status policy picks. */
  private parse<S extends z.ZodType>(what: string, answer: Answer, schema: S): z.infer<S> {
    if (answer.status < 200 || answer.status >= 300) {
      throw criteoError(what, answer.status, answer.body, answer.headers, answer.redact)
    }
    const parsed = schema.safeParse(answer.body)
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) =>
        answer.redact(`${issue.path.join('.') || 'body'}: ${issue.message}`)
      )
      throw unexpectedResponseError(what, issues.slice(0, 3).join('; '))
    }
    return parsed.data
  }
}

/**
 * actions-core's request client wraps each request's abort signal in `AbortSignal.any()`, and a signal of ours cannot
 * reach it (its option merging turns a signal into a plain object). On Node 20 a signal made by `AbortSignal.any()`
 * is held for the life of the process while it has an abort listener, and node-fetch removes its listener only when a
 * response ends; a response cut off mid-body never ends. So without this, every such response kept about 19 KB of its
 * request for good. actions-core hands its options, signal included, to `beforeRequest` hooks; at the deadline the
 * signal's listeners are told to abort, which destroys the socket and releases everything (docs/actions-core-upstream.md has the
 * one-line cause and the upstream fix).
 */
function abortOnDeadline(): { remember: (options: { signal?: unknown }) => void; now: () => void } {
  let signal: EventTarget | undefined
  return {
    remember: (options) => {
      if (options.signal instanceof EventTarget) signal = options.signal
    },
    now: () => signal?.dispatchEvent(new Event('abort'))
  }
}

/** A list's id, or a permanent error when Criteo marks it read-only: amending it could only fail. */
function writable(list: ListInfo, name?: string, origin?: ListOrigin): string {
  if (!list.readOnly) return list.id
  const which = name === undefined ? `Criteo list ${list.id}` : `Criteo list ${list.id} ("${name}")`
  const fix =
    origin === undefined
      ? 'Rename the Engage audience, or choose a writable list in the Criteo list field of this mapping.'
      : {
          chosen:
            'Choose another list in the Criteo list field of this mapping, or clear it to sync to the list named after the audience.',
          saved: 'Save the mapping again, to create a list or pick a writable one.',
          engage: 'Reconnect the audience to this destination in Engage, so that a writable list is created or linked.'
        }[origin]
  throw new IntegrationError(
    `${which} is read-only in Criteo: users cannot be added to or removed from it. ${fix}`,
    ErrorCodes.FORBIDDEN,
    403
  )
}

/**
 * Criteo refusing the token a call carried: a 401, or a 2xx whose errors are of type `authentication` or
 * `authorization` (how the contract's answers classify it). Either is answered the same way: with a new token.
 */
function tokenRefused(answer: Answer): boolean {
  if (answer.status === 401) return true
  if (answer.status < 200 || answer.status >= 300) return false
  return errorsIn(answer.body).some((problem) => problem.type === 'authentication' || problem.type === 'authorization')
}

/**
 * Criteo's answer for a list that no longer exists (or was never the caller's): a 200 whose `errors` carry
 * `audience-invalid` (the amendment's only documented answer, so its documented way to say so), or the 403/404 other
 * tools see.
 */
function isListGone(answer: Answer): boolean {
  if (answer.status >= 200 && answer.status < 300) {
    return errorsIn(answer.body).some((problem) => problem.code === 'audience-invalid')
  }
  return (answer.status === 403 || answer.status === 404) && hasProblemCode(answer.body, 'audience-invalid')
}

/**
 * The list named after an audience was deleted, and Criteo's search still shows it (or it was deleted again while it
 * was looked up): retried, so the events are sent once the search stops showing it and the list is recreated.
 */
function listStillShown(what: string, id: string): RetryableError {
  return new RetryableError(
    `${what} failed: the list was deleted in Criteo and its search still shows it; the events will be retried until Criteo lets it be recreated (list ${id}).`,
    503
  )
}

/**
 * An answer about another list, operation or identifier type than the one amended is not a success: nothing says the
 * users reached the list. It is reported for good rather than retried, since a retry could write to that other list
 * again.
 */
function checkAnswerIsFor(
  what: string,
  id: string,
  operation: Operation,
  identifierType: IdentifierType,
  attributes: { contactListId?: number | null; operation: string; identifierType?: string | null },
  redact: Redact
): void {
  // Criteo's own strings: they may echo what was sent, and have no length limit.
  const said = (value: string) => cutAt(redact(value), MAX_FIELD_LENGTH)
  const mismatches: string[] = []
  if (attributes.contactListId != null && String(attributes.contactListId) !== id) {
    mismatches.push(`list ${attributes.contactListId}`)
  }
  if (attributes.operation.toLowerCase() !== operation) mismatches.push(`operation "${said(attributes.operation)}"`)
  if (attributes.identifierType != null && !sameIdentifierType(attributes.identifierType, identifierType)) {
    mismatches.push(`identifier type "${said(attributes.identifierType)}"`)
  }
  if (mismatches.length === 0) return
  throw new IntegrationError(
    `${what} failed: Criteo's answer is about ${mismatches.join(', ')}, not what was sent (list ${id}, ${operation}, ` +
      `${identifierType}). The users are not reported as synced, and the amendment is not sent again.`,
    ErrorCodes.CONFLICT,
    409
  )
}

/**
 * Whether the identifier type an amendment answer names is the one sent. The list id and the operation are compared
 * exactly, since a mismatch there could mean users misplaced; the identifier type is compared loosely, since the
 * contract leaves that field a free string and a spelling of its own ("EMAIL_SHA256", "identity_link") is no sign of
 * another list or operation: refusing it would drop users Criteo took. Case and punctuation are ignored, and a type
 * that starts with the one sent (a variant of it) matches.
 */
function sameIdentifierType(answered: string, sent: IdentifierType): boolean {
  const loose = (type: string) => type.toLowerCase().replace(/[^a-z0-9]/g, '')
  return loose(answered).startsWith(loose(sent))
}

/** A name the audience cannot have in Criteo, for good (`listHoldingName`): nothing a retry can change. */
function nameClash(message: string): IntegrationError {
  return new IntegrationError(message, ErrorCodes.CONFLICT, 409)
}

/** A list name as Criteo compares names for uniqueness, as far as we know: without regard to case or spacing. */
function looseName(name: string): string {
  return name.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase()
}
