import type { RequestClient } from '@segment/actions-core'
import type { RequestOptions } from '@segment/actions-core/request-client'
import { IntegrationError, ErrorCodes, RetryableError } from '@segment/actions-core'
import type { z } from 'zod'
import { AUDIENCE_SEGMENTS_PATH as SEGMENTS_PATH, criteoApiUrl } from '../versioning-info'
import {
  AUDIENCE_CACHE_TTL_MS,
  CACHE_MAX_ENTRIES,
  requestTimeoutMs,
  SEARCH_PAGE_SIZE,
  TOKEN_EXPIRY_MARGIN_SECONDS
} from '../limits'
import { amendmentBody, IdentifierType, ListTarget, Operation, targetKey } from '../plan'
import { sha256Hex } from '../identifiers'
import { ExpiringCache, InFlight } from './cache'
import {
  criteoError,
  describeAnswer,
  hasProblemCode,
  networkError,
  problemsIn,
  rateLimitResetAt,
  tokenError,
  unexpectedResponseError
} from './errors'
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

export interface AmendmentResult {
  contactListId: string
  nbValidIdentifiers: number
  nbInvalidIdentifiers: number
  sampleInvalidIdentifiers: string[]
}

// Module-level: they outlive one batch, which is what saves the token and lookup requests. Every key starts with
// a fingerprint of the credentials, so one workspace never reads another's token or list ids.
const tokens = new ExpiringCache<string>(CACHE_MAX_ENTRIES)
const pendingTokens = new InFlight<string>()
const listIds = new ExpiringCache<string>(CACHE_MAX_ENTRIES)
const pendingListIds = new InFlight<string>()
const pendingSearches = new InFlight<Map<string, string>>()
/** Ids of lists seen in the advertiser's own search results: a chosen list id must be among them. */
const knownListIds = new ExpiringCache<true>(CACHE_MAX_ENTRIES)

/** What Criteo's `x-ratelimit-*` headers last said about an app: calls left in the window, and when it resets. */
export interface RateLimitState {
  remaining: number
  /** Epoch milliseconds. */
  resetAt: number
}
const rateLimits = new ExpiringCache<RateLimitState>(CACHE_MAX_ENTRIES)
// Kept a little beyond any one-minute window, so a state read late still says when its window ended.
const RATE_LIMIT_STATE_TTL_MS = 2 * 60 * 1000

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
  rateLimits.set(key, { remaining, resetAt }, RATE_LIMIT_STATE_TTL_MS)
}

/** Hashed, so the secret itself is never held as a map key. */
function credentialsKeyOf(credentials: Pick<CriteoCredentials, 'client_id' | 'client_secret'>): string {
  return sha256Hex(`${credentials.client_id}\u0000${credentials.client_secret}`)
}

/** Forgets every cached token and list id: for tests, and for a host that wants a clean start. */
export function resetCriteoCaches(): void {
  rateLimits.clear()
  tokens.clear()
  pendingTokens.clear()
  listIds.clear()
  knownListIds.clear()
  pendingListIds.clear()
  pendingSearches.clear()
}

interface Answer {
  status: number
  body: unknown
  headers: Headers | undefined
}

interface CallOptions {
  method: 'GET' | 'POST' | 'PATCH'
  json?: unknown
  searchParams?: Record<string, string | number>
}

/**
 * Everything this destination says to Criteo goes through here: the token, list lookups and creation, amendments,
 * and the mapping of every failure to an actions-core error.
 */
export class CriteoClient {
  private readonly credentialsKey: string

  constructor(
    private readonly request: RequestClient,
    private readonly settings: CriteoCredentials
  ) {
    this.credentialsKey = credentialsKeyOf(settings)
  }

  /** A valid access token: cached until shortly before it expires, one request shared by concurrent callers. */
  accessToken(): Promise<string> {
    const cached = tokens.get(this.credentialsKey)
    if (cached) return Promise.resolve(cached)
    return pendingTokens.run(this.credentialsKey, () => this.fetchToken())
  }

  /** Checks that these credentials get a token and can read this advertiser's audiences. */
  async checkAccess(): Promise<void> {
    const what = `Reading the audiences of advertiser ${this.settings.advertiser_id}`
    const answer = await this.call(what, `${SEGMENTS_PATH}/search`, this.searchOptions(0, 1))
    const refused = [400, 403, 404].includes(answer.status)
    if (refused || (answer.status < 300 && problemsIn(answer.body).length > 0)) {
      throw new IntegrationError(
        `The Client ID and Client Secret are valid, but cannot reach advertiser ${this.settings.advertiser_id}: ` +
          `Criteo answered ${describeAnswer(answer.status, answer.body)}. Check the Advertiser ID, and that the ` +
          'Criteo app of this Client ID has been granted access to that advertiser.',
        ErrorCodes.FORBIDDEN,
        403
      )
    }
    this.parse(what, answer, SearchResponse)
  }

  /** The id of the contact list named `name`, found or created; cached, and shared by concurrent batches. */
  listId(name: string): Promise<string> {
    return this.listIds([name]).get(name) as Promise<string>
  }

  /**
   * Ids for several lists at once. Names neither cached nor already being resolved share a single paged search;
   * the ones it does not find are created.
   */
  listIds(names: string[]): Map<string, Promise<string>> {
    const result = new Map<string, Promise<string>>()
    const missing: string[] = []
    for (const name of names) {
      const key = this.listKey(name)
      const known = listIds.get(key) ?? pendingListIds.get(key)
      if (known !== undefined) result.set(name, Promise.resolve(known))
      else missing.push(name)
    }
    if (missing.length === 0) return result

    let search: Promise<Map<string, string>> | undefined
    for (const name of missing) {
      const promise = pendingListIds.run(this.listKey(name), async () => {
        await this.searchOthersStarted(search)
        const seen = listIds.get(this.listKey(name))
        if (seen) return seen
        search ??= pendingSearches.run(this.advertiserKey(), () => this.searchLists({ names: new Set(missing) }))
        const id = (await search).get(name) ?? (await this.createList(name))
        listIds.set(this.listKey(name), id, AUDIENCE_CACHE_TTL_MS)
        return id
      })
      result.set(name, promise)
    }
    return result
  }

  /**
   * The list id for each target, keyed by `targetKey`: lists named after an audience are found or created (see
   * `listIds`); a list chosen by id is checked to be one of the advertiser's contact lists; a list Engage linked is
   * used as it is.
   */
  resolveTargets(targets: readonly ListTarget[]): Map<string, Promise<string>> {
    const result = new Map<string, Promise<string>>()
    const names = [...new Set(targets.filter((t) => t.kind === 'name').map((t) => t.name))]
    const byName = names.length > 0 ? this.listIds(names) : new Map<string, Promise<string>>()
    for (const target of targets) {
      const key = targetKey(target)
      if (result.has(key)) continue
      if (target.kind === 'name') result.set(key, byName.get(target.name) as Promise<string>)
      else if (target.kind === 'chosen') result.set(key, this.checkListId(target.id))
      else result.set(key, Promise.resolve(target.id))
    }
    return result
  }

  /**
   * `id` itself when it is one of this advertiser's contact lists; otherwise a 404 that says so. Lists seen by any
   * search are remembered, so this costs a request only for an id no recent search has shown.
   */
  async checkListId(id: string, origin: 'chosen' | 'engage' = 'chosen'): Promise<string> {
    const key = this.listIdKey(id)
    if (knownListIds.get(key)) return id
    // Concurrent batches for the same id share one check.
    return pendingListIds.run(key, async () => {
      await this.searchOthersStarted()
      if (knownListIds.get(key)) return id
      // That search may have stopped before reaching the id (it looks for names): only a search of our own that
      // pages until it sees the id, or runs out, can say the list is not there.
      await this.searchLists({ ids: new Set([id]) })
      if (knownListIds.get(key)) return id
      throw this.listNotFound(id, origin)
    })
  }

  /**
   * Waits for a search of this advertiser's lists that another batch started (not `ours`), if one is running: it
   * caches every list it sees, so the list wanted may be known afterwards without a search of our own.
   */
  private async searchOthersStarted(ours?: Promise<unknown>): Promise<void> {
    const running = pendingSearches.get(this.advertiserKey())
    if (running && running !== ours) await running.catch(() => undefined)
  }

  /** Every contact list of the advertiser, by name: what an admin picks from when choosing a list. */
  async contactLists(): Promise<ContactList[]> {
    const lists: ContactList[] = []
    await this.searchLists({ all: true, collect: lists })
    return lists.sort((a, b) => a.name.localeCompare(b.name) || Number(a.id) - Number(b.id))
  }

  /**
   * Adds or removes identifiers on a target's list. `listId` is the resolution the batch already started (see
   * `resolveTargets`): awaiting it, rather than resolving again, keeps a failed lookup from being repeated once per
   * chunk. A list deleted in Criteo answers `audience-invalid`: for a list named after its audience the id is
   * forgotten, the list found or created again, and the amendment sent once more; a list given by id is reported
   * as gone, since sending its users anywhere else would misplace them.
   */
  async amend(
    target: ListTarget,
    operation: Operation,
    identifierType: IdentifierType,
    identifiers: string[],
    listId: Promise<string>,
    gumCallerId?: number
  ): Promise<AmendmentResult> {
    const body = amendmentBody(operation, identifierType, identifiers, gumCallerId)
    for (let attempt = 1; ; attempt++) {
      const id = await (attempt === 1 || target.kind !== 'name' ? listId : this.listId(target.name))
      const named = target.kind === 'name' ? ` ("${target.name}")` : ''
      const what = `${operation === 'add' ? 'Adding users to' : 'Removing users from'} Criteo list ${id}${named}`
      const answer = await this.call(what, `${SEGMENTS_PATH}/${encodeURIComponent(id)}/contact-list`, {
        method: 'PATCH',
        json: body
      })
      const listIsGone =
        (answer.status === 403 || answer.status === 404) && hasProblemCode(answer.body, 'audience-invalid')
      if (listIsGone && target.kind === 'name' && attempt === 1) {
        listIds.deleteIf(this.listKey(target.name), id)
        continue
      }
      if (listIsGone && target.kind !== 'name') {
        knownListIds.deleteIf(this.listIdKey(id), true)
        throw this.listNotFound(id, target.kind)
      }
      const { attributes } = this.parse(what, answer, AmendmentResponse).data
      return {
        contactListId: String(attributes.contactListId ?? id),
        nbValidIdentifiers: attributes.nbValidIdentifiers,
        nbInvalidIdentifiers: attributes.nbInvalidIdentifiers,
        sampleInvalidIdentifiers: attributes.sampleInvalidIdentifiers ?? []
      }
    }
  }

  private listNotFound(id: string, origin: 'chosen' | 'engage'): IntegrationError {
    const advertiser = this.settings.advertiser_id
    const fix =
      origin === 'chosen'
        ? 'Pick a list from the Criteo list drop-down of this mapping, or clear the field to sync to the list named after the audience.'
        : 'Reconnect the audience to this destination in Engage, so that a list is created or linked again.'
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
    return this.parse(what, answer, StatisticsResponse).data.attributes
  }

  private async fetchToken(): Promise<string> {
    const what = 'Getting a Criteo access token'
    const answer = await this.send(what, `${criteoApiUrl()}/oauth2/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: this.settings.client_id,
        client_secret: this.settings.client_secret
      }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }
    })
    if (answer.status >= 300) throw tokenError(answer.status, answer.body, answer.headers)
    const token = this.parse(what, answer, TokenResponse)
    const lifetime = Math.max(token.expires_in - TOKEN_EXPIRY_MARGIN_SECONDS, token.expires_in / 2)
    tokens.set(this.credentialsKey, token.access_token, lifetime * 1000)
    return token.access_token
  }

  /**
   * Pages through this advertiser's contact lists until every wanted name and id is seen, or the pages run out.
   * Every list seen is cached, by name and by id: the next batch's audiences are likely among them.
   */
  private async searchLists(wanted: {
    names?: Set<string>
    ids?: Set<string>
    all?: boolean
    collect?: ContactList[]
  }): Promise<Map<string, string>> {
    const found = new Map<string, string>()
    const seenIds = new Set<string>()
    const what = `Looking up the contact lists of advertiser ${this.settings.advertiser_id}`
    for (let offset = 0; ; offset += SEARCH_PAGE_SIZE) {
      const answer = await this.call(what, `${SEGMENTS_PATH}/search`, this.searchOptions(offset, SEARCH_PAGE_SIZE))
      const page = this.parse(what, answer, SearchResponse)
      for (const { id, attributes } of page.data) {
        // The filters should guarantee both; a list of another advertiser must never receive this one's users.
        if (attributes.advertiserId !== undefined && attributes.advertiserId !== this.settings.advertiser_id) continue
        if (attributes.type !== undefined && attributes.type !== 'ContactList') continue
        seenIds.add(id)
        knownListIds.set(this.listIdKey(id), true, AUDIENCE_CACHE_TTL_MS)
        wanted.collect?.push({ id, name: attributes.name })
        if (found.has(attributes.name)) continue
        found.set(attributes.name, id)
        listIds.set(this.listKey(attributes.name), id, AUDIENCE_CACHE_TTL_MS)
      }
      const total = page.meta?.totalItems
      const lastPage =
        page.data.length < SEARCH_PAGE_SIZE || (total !== undefined && offset + page.data.length >= total)
      const allSeen =
        !wanted.all &&
        [...(wanted.names ?? [])].every((name) => found.has(name)) &&
        [...(wanted.ids ?? [])].every((id) => seenIds.has(id))
      if (lastPage || allSeen) return found
    }
  }

  private async createList(name: string): Promise<string> {
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
      const id = (await this.searchLists({ names: new Set([name]) })).get(name)
      if (id) return id
      // The list exists but search does not show it yet: a later attempt will.
      throw new RetryableError(
        `${what} failed: Criteo says the name is taken, but its search does not show the list yet.`,
        503
      )
    }
    const created = this.parse(what, answer, CreateResponse)
    const id = created.data?.[0]?.id
    if (!id) {
      const answered = `Criteo answered ${describeAnswer(answer.status, answer.body)} and created nothing`
      throw new IntegrationError(`${what} failed: ${answered}.`, ErrorCodes.BAD_REQUEST, 400)
    }
    return id
  }

  private searchOptions(offset: number, limit: number): CallOptions {
    return {
      method: 'POST',
      searchParams: { limit, offset },
      json: {
        data: {
          attributes: { advertiserIds: [this.settings.advertiser_id], audienceSegmentTypes: ['ContactList'] }
        }
      }
    }
  }

  private listKey(name: string): string {
    return JSON.stringify([this.credentialsKey, this.settings.advertiser_id, name])
  }

  private listIdKey(id: string): string {
    return JSON.stringify([this.credentialsKey, this.settings.advertiser_id, '#id', id])
  }

  private advertiserKey(): string {
    return JSON.stringify([this.credentialsKey, this.settings.advertiser_id])
  }

  /**
   * One API call with a bearer token. A 401 means the token was revoked or expired early: drop it, get a new one
   * and try once more; a second 401 is left for the caller to report as bad credentials.
   */
  private async call(what: string, path: string, options: CallOptions): Promise<Answer> {
    for (let attempt = 1; ; attempt++) {
      const token = await this.accessToken()
      const answer = await this.send(what, `${criteoApiUrl()}${path}`, {
        method: options.method,
        json: options.json,
        searchParams: options.searchParams,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' }
      })
      if (answer.status === 401 && attempt === 1) {
        tokens.deleteIf(this.credentialsKey, token)
        continue
      }
      return answer
    }
  }

  /**
   * The one place a request leaves. actions-core's own timeout stops at the response headers; the deadline here also
   * bounds reading the body, so a connection cut mid-response fails within the timeout instead of hanging. The body
   * is read once, not cloned: a clone is never told that its source connection broke.
   */
  private async send(what: string, url: string, options: RequestOptions): Promise<Answer> {
    const timeout = requestTimeoutMs()
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('deadline'), { name: 'TimeoutError' })), timeout)
    })
    try {
      const response = await Promise.race([
        this.request(url, { ...options, throwHttpErrors: false, timeout, skipResponseCloning: true }),
        deadline
      ])
      observeRateLimit(this.credentialsKey, response.headers)
      return { status: response.status, body: response.data, headers: response.headers }
    } catch (error) {
      throw networkError(what, error)
    } finally {
      clearTimeout(timer)
    }
  }

  /** A 2xx answer's body, checked against its schema; anything else becomes the error the status policy picks. */
  private parse<S extends z.ZodType>(what: string, answer: Answer, schema: S): z.infer<S> {
    if (answer.status < 200 || answer.status >= 300) throw criteoError(what, answer.status, answer.body, answer.headers)
    const parsed = schema.safeParse(answer.body)
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`)
      throw unexpectedResponseError(what, issues.slice(0, 3).join('; '))
    }
    return parsed.data
  }
}
