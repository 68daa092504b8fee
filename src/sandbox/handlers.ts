import { AmendBody, CreateBody, DeleteBody, SearchBody } from './bodies'
import {
  audienceInvalidError,
  CriteoError,
  nameMustBeUniqueError,
  readOnlyAudienceError,
  sandboxErrors,
  unsupportedSegmentError
} from './errors'
import { DEFAULT_IDENTIFIER_TYPE, sortIdentifiers } from './identifiers'
import { ResolvedOptions } from './options'
import { listSize, SandboxState, StoredList } from './state'
import { AnswerVariants, MAX_VARIANT_READ_ONLY_LISTS } from './variants'

/**
 * Each handler gets a body the contract has already accepted (contract.ts), and checks only what the contract cannot
 * say: who may see what, and the rules of Criteo's service that the sandbox models. Those rules are not in Criteo's
 * contract; each is marked OUR ASSUMPTION where it is made.
 */

/** What a handler needs to know about the call, beyond its body. */
export interface CallContext {
  state: SandboxState
  options: ResolvedOptions
  /** Advertisers of the calling client: the only ones whose lists it may see or touch. */
  advertiserIds: ReadonlySet<string>
  variants: AnswerVariants
}

export interface HandlerResult {
  body: unknown
  /** Counts for the log line: sizes only, never identifiers. */
  logCounts: Record<string, number>
}

/** Criteo's contract: limit 0 to 100, default 50; offset default 0. */
export const DEFAULT_SEARCH_LIMIT = 50
export const MAX_SEARCH_LIMIT = 100

/**
 * Criteo matches a list's users against its own graph and reports the share it found; the sandbox has no graph and
 * reports this fixed share of the identifiers, rounded, so statistics look plausible and stay predictable.
 */
export const SIMULATED_MATCH_RATE = 0.6

const CONTACT_LIST_TYPE = 'ContactList'
const SEGMENT_TYPE = 'AudienceSegment'

function success(data: unknown) {
  return { data, errors: [] as CriteoError[], warnings: [] as CriteoError[] }
}

/**
 * The contract has checked that both are integers and that limit is within 0..100. It sets offset no minimum; OUR
 * ASSUMPTION: a negative offset reads as 0.
 */
export function parsePaging(query: URLSearchParams): { limit: number; offset: number } {
  const limit = query.get('limit')
  const offset = query.get('offset')
  return {
    limit: limit === null ? DEFAULT_SEARCH_LIMIT : Number(limit),
    offset: offset === null ? 0 : Math.max(0, Number(offset))
  }
}

/** OUR ASSUMPTION: naming an advertiser the client cannot reach is refused whole, with a 403. */
function assertOwns(context: CallContext, advertiserId: string): void {
  if (!context.advertiserIds.has(advertiserId)) throw sandboxErrors.advertiserAccessDenied(advertiserId)
}

/** The list, when it exists and belongs to the caller; anything else is Criteo's `audience-invalid`. */
function ownedList(context: CallContext, listId: string): StoredList | undefined {
  const list = context.state.get(listId)
  return list && context.advertiserIds.has(list.advertiserId) ? list : undefined
}

function requireOwnedList(context: CallContext, listId: string): StoredList {
  const list = ownedList(context, listId)
  if (!list) throw sandboxErrors.audienceInvalid()
  return list
}

/** OUR ASSUMPTION: amending or wiping a read-only list is refused with a 403 `audience-read-only` (errors.ts). */
function requireWritableList(context: CallContext, listId: string): StoredList {
  const list = requireOwnedList(context, listId)
  if (list.readOnly) throw sandboxErrors.audienceReadOnly()
  return list
}

function segmentResource(list: StoredList) {
  return {
    id: list.id,
    type: SEGMENT_TYPE,
    attributes: {
      advertiserId: list.advertiserId,
      name: list.name,
      description: list.description,
      type: CONTACT_LIST_TYPE,
      contactList: { isReadOnly: list.readOnly },
      createdAt: new Date(list.createdAt).toISOString(),
      updatedAt: new Date(list.updatedAt).toISOString()
    }
  }
}

/** A filter that is absent or empty filters nothing (OUR ASSUMPTION for empty); present filters are ANDed. */
function filterOf(values: string[] | undefined): ReadonlySet<string> | undefined {
  return values && values.length > 0 ? new Set(values) : undefined
}

export function search(context: CallContext, body: SearchBody, query: URLSearchParams): HandlerResult {
  const { limit, offset } = parsePaging(query)
  const attributes = body.data?.attributes
  const advertiserIds = filterOf(attributes?.advertiserIds)
  const listIds = filterOf(attributes?.audienceSegmentIds)
  const types = filterOf(attributes?.audienceSegmentTypes)
  advertiserIds?.forEach((advertiserId) => assertOwns(context, advertiserId))
  const searched = advertiserIds ?? context.advertiserIds
  if (context.variants.has('readOnlyList')) shareReadOnlyList(context, [...searched])

  // The sandbox holds contact lists only, so a type filter either keeps them all or none.
  const matching =
    types && !types.has(CONTACT_LIST_TYPE)
      ? []
      : context.state.all().filter((list) => searched.has(list.advertiserId) && (!listIds || listIds.has(list.id)))
  const page = matching.slice(offset, offset + limit)
  return {
    body: { ...success(page.map(segmentResource)), meta: { totalItems: matching.length, limit, offset } },
    logCounts: { items: page.length, totalItems: matching.length }
  }
}

/** The readOnlyList variant: a list the client did not make and cannot change shows up under an advertiser it reads. */
function shareReadOnlyList(context: CallContext, advertiserIds: string[]): void {
  const candidates = advertiserIds.filter(
    (advertiserId) =>
      context.state.all().filter((list) => list.advertiserId === advertiserId && list.readOnly).length <
        MAX_VARIANT_READ_ONLY_LISTS && context.state.countFor(advertiserId) < context.options.maxListsPerAdvertiser
  )
  if (candidates.length === 0) return
  const advertiserId = candidates[Math.floor(context.variants.random() * candidates.length)]
  const name = `Shared list ${context.state.countFor(advertiserId) + 1}`
  if (context.state.hasName(advertiserId, name)) return
  context.state.create(
    {
      advertiserId,
      name,
      description: 'Shared with this advertiser; read-only',
      readOnly: true
    },
    context.options.now()
  )
  context.variants.applied('readOnlyList')
}

/**
 * Success or partial success, the contract's only documented answer: every item that can be created is, and comes
 * back in `data`; every other one comes back in `errors`. Refused per item: a name the advertiser already has, or
 * that the request repeats (`name-must-be-unique`, Criteo's code; uniqueness itself is OUR ASSUMPTION: Criteo's
 * contract does not state it), and a segment that is not a contact list (the sandbox holds contact lists only).
 * Refused whole (OUR ASSUMPTION): an advertiser the client cannot reach (403), and going past the advertiser's list
 * cap (400 `audience-limit-reached`).
 */
export function create(context: CallContext, body: CreateBody): HandlerResult {
  const items = (body.data ?? []).map(({ attributes }) => attributes)
  items.forEach((attributes) => attributes && assertOwns(context, attributes.advertiserId))

  const errors: CriteoError[] = []
  const accepted: Array<{ advertiserId: string; name: string; description: string }> = []
  const seen = new Set<string>()
  for (const attributes of items) {
    if (!attributes?.contactList) {
      errors.push(unsupportedSegmentError())
      continue
    }
    const { advertiserId, name } = attributes
    const key = JSON.stringify([advertiserId, name])
    if (seen.has(key) || context.state.hasName(advertiserId, name)) errors.push(nameMustBeUniqueError(name))
    else accepted.push({ advertiserId, name, description: attributes.description ?? '' })
    seen.add(key)
  }

  const max = context.options.maxListsPerAdvertiser
  const adding = new Map<string, number>()
  for (const { advertiserId } of accepted) adding.set(advertiserId, (adding.get(advertiserId) ?? 0) + 1)
  for (const [advertiserId, count] of adding) {
    if (context.state.countFor(advertiserId) + count > max) throw sandboxErrors.audienceLimitReached(advertiserId, max)
  }

  const now = context.options.now()
  const created = accepted.map((item) => context.state.create(item, now))
  // The nameTakenOnCreate variant: the first new list is created, but reported as another writer's.
  const taken = context.variants.has('nameTakenOnCreate') ? created.shift() : undefined
  if (taken) {
    errors.push(nameMustBeUniqueError(taken.name))
    context.variants.applied('nameTakenOnCreate')
  }
  return {
    body: { data: created.map((list) => ({ id: list.id, type: SEGMENT_TYPE })), errors, warnings: [] },
    logCounts: { created: created.length + (taken ? 1 : 0), refused: errors.length }
  }
}

/**
 * Caps and rules beyond the contract (OUR ASSUMPTION each): at most `maxIdentifiersPerAmendment` identifiers (400
 * `too-many-identifiers`), gum needs a gumCallerId (400), a read-only list is refused (403).
 */
export function amend(context: CallContext, listId: string, body: AmendBody): HandlerResult {
  const list = requireWritableList(context, listId)
  const { operation, identifiers, gumCallerId } = body.data.attributes
  const identifierType = body.data.attributes.identifierType ?? DEFAULT_IDENTIFIER_TYPE
  if (identifiers.length > context.options.maxIdentifiersPerAmendment) {
    throw sandboxErrors.tooManyIdentifiers(context.options.maxIdentifiersPerAmendment)
  }
  if (identifierType === 'gum' && gumCallerId === undefined) throw sandboxErrors.gumCallerIdRequired()

  const sorted = sortIdentifiers(identifierType, identifiers)
  const now = context.options.now()
  if (operation === 'add') context.state.add(list, identifierType, sorted.valid, now)
  else context.state.remove(list, identifierType, sorted.valid, now)
  return {
    body: success({
      type: 'ContactlistAmendment',
      attributes: {
        contactListId: Number(list.id),
        operation,
        requestDate: new Date(now).toISOString(),
        identifierType,
        nbValidIdentifiers: sorted.valid.length,
        nbInvalidIdentifiers: sorted.nbInvalid,
        sampleInvalidIdentifiers: sorted.sampleInvalid
      }
    }),
    logCounts: { identifiers: identifiers.length, valid: sorted.valid.length, invalid: sorted.nbInvalid }
  }
}

/** The contract's answer: `data` is the list's `{id, type}` (BasicAudienceDefinition), with its name. */
export function wipe(context: CallContext, listId: string): HandlerResult {
  const list = requireWritableList(context, listId)
  const removed = listSize(list)
  context.state.wipe(list, context.options.now())
  return {
    body: success({
      id: list.id,
      type: 'AudienceContactlist',
      attributes: { name: list.name, description: list.description }
    }),
    logCounts: { removed }
  }
}

export function matchesFor(numberOfIdentifiers: number): number {
  return Math.round(numberOfIdentifiers * SIMULATED_MATCH_RATE)
}

export function statistics(context: CallContext, listId: string): HandlerResult {
  const list = requireOwnedList(context, listId)
  const numberOfIdentifiers = listSize(list)
  const numberOfMatches = matchesFor(numberOfIdentifiers)
  const matchRate = numberOfIdentifiers === 0 ? 0 : numberOfMatches / numberOfIdentifiers
  return {
    body: success({
      type: 'ContactlistStatistics',
      id: list.id,
      attributes: { numberOfIdentifiers, numberOfMatches, matchRate }
    }),
    logCounts: { identifiers: numberOfIdentifiers }
  }
}

/** Names the id only when it looks like one: an id field may hold anything a client put there. */
function notFoundDetail(id: string | undefined): string {
  if (id === undefined) return 'An item has no id'
  return /^\d{1,10}$/.test(id) ? `Audience segment ${id} was not found` : 'An audience segment was not found'
}

/**
 * Success or partial success: found lists are deleted, the rest come back in `errors` (`audience-invalid`). The
 * contract requires no id on an item; an item without one is refused the same way. A read-only list is refused with
 * `audience-read-only` (OUR ASSUMPTION).
 */
export function deleteLists(context: CallContext, body: DeleteBody): HandlerResult {
  const deleted: Array<{ id: string; type: string }> = []
  const errors: CriteoError[] = []
  for (const { id } of body.data ?? []) {
    const list = id === undefined ? undefined : ownedList(context, id)
    if (!list) {
      errors.push({ ...audienceInvalidError(), detail: notFoundDetail(id) })
    } else if (list.readOnly) {
      errors.push({ ...readOnlyAudienceError(), detail: `Audience segment ${list.id} is read-only` })
    } else {
      context.state.delete(list.id)
      deleted.push({ id: list.id, type: SEGMENT_TYPE })
    }
  }
  return {
    body: { data: deleted, errors, warnings: [] },
    logCounts: { deleted: deleted.length, notFound: errors.length }
  }
}
