import { amendBody, createBody, deleteBody, parseBody, searchBody } from './bodies'
import { audienceInvalidError, CriteoError, nameMustBeUniqueError, SandboxHttpError, sandboxErrors } from './errors'
import { isIdentifierType, sortIdentifiers } from './identifiers'
import { ResolvedOptions } from './options'
import { listSize, SandboxState, StoredList } from './state'

/** What a handler needs to know about the call, beyond its body. */
export interface CallContext {
  state: SandboxState
  options: ResolvedOptions
  /** Advertisers of the calling client: the only ones whose lists it may see or touch. */
  advertiserIds: ReadonlySet<string>
}

export interface HandlerResult {
  body: unknown
  /** Counts for the log line: sizes only, never identifiers. */
  logCounts: Record<string, number>
}

/** Criteo's search default page size is not documented; 50 is the sandbox's choice. Criteo rejects limit > 100. */
export const DEFAULT_SEARCH_LIMIT = 50
export const MAX_SEARCH_LIMIT = 100

/**
 * Criteo matches a list's users against its own graph and reports the share it found; the sandbox has no graph and
 * reports this fixed share of the identifiers, rounded, so statistics look plausible and stay predictable.
 */
export const SIMULATED_MATCH_RATE = 0.6

const CONTACT_LIST_TYPE = 'ContactList'
const SUCCESS_ENVELOPE = { errors: [], warnings: [] } as const

export function parsePaging(query: URLSearchParams): { limit: number; offset: number } {
  const limit = pagingParameter(query, 'limit', DEFAULT_SEARCH_LIMIT)
  const offset = pagingParameter(query, 'offset', 0)
  if (limit < 1 || limit > MAX_SEARCH_LIMIT) {
    throw sandboxErrors.invalidPaging(`limit must be between 1 and ${MAX_SEARCH_LIMIT}`)
  }
  return { limit, offset }
}

function pagingParameter(query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name)
  if (raw === null) return fallback
  if (!/^\d+$/.test(raw)) throw sandboxErrors.invalidPaging(`${name} must be a non-negative integer`)
  return Number(raw)
}

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

function segmentResource(list: StoredList) {
  return {
    id: list.id,
    type: 'AudienceSegment',
    attributes: {
      advertiserId: list.advertiserId,
      name: list.name,
      description: list.description,
      type: CONTACT_LIST_TYPE,
      createdAt: new Date(list.createdAt).toISOString(),
      updatedAt: new Date(list.updatedAt).toISOString()
    }
  }
}

/** An empty or absent filter means "no filter"; present filters are ANDed, as in Criteo's search. */
export function search(context: CallContext, body: unknown, query: URLSearchParams): HandlerResult {
  const { limit, offset } = parsePaging(query)
  const attributes = parseBody(searchBody, body).data?.attributes
  const advertiserIds = attributes?.advertiserIds?.length ? attributes.advertiserIds : undefined
  const types = attributes?.audienceSegmentTypes?.length ? attributes.audienceSegmentTypes : undefined
  advertiserIds?.forEach((advertiserId) => assertOwns(context, advertiserId))

  // The sandbox only holds contact lists, so a type filter either keeps them all or none.
  const wanted = types && !types.includes(CONTACT_LIST_TYPE) ? [] : (advertiserIds ?? [...context.advertiserIds])
  const wantedSet = new Set(wanted)
  const matching = context.state.all().filter((list) => wantedSet.has(list.advertiserId))
  const page = matching.slice(offset, offset + limit)
  return {
    body: {
      data: page.map(segmentResource),
      meta: { totalItems: matching.length, limit, offset },
      ...SUCCESS_ENVELOPE
    },
    logCounts: { items: page.length, totalItems: matching.length }
  }
}

/** All or nothing: one invalid item fails the whole request, so a client never has to reconcile half a batch. */
export function create(context: CallContext, body: unknown): HandlerResult {
  const items = parseBody(createBody, body).data.map(({ attributes }) => ({
    advertiserId: attributes.advertiserId,
    name: attributes.name,
    description: attributes.description ?? ''
  }))
  items.forEach((item) => assertOwns(context, item.advertiserId))

  const duplicates: CriteoError[] = []
  const seen = new Set<string>()
  const added = new Map<string, number>()
  for (const item of items) {
    const key = JSON.stringify([item.advertiserId, item.name])
    if (seen.has(key) || context.state.hasName(item.advertiserId, item.name))
      duplicates.push(nameMustBeUniqueError(item.name))
    seen.add(key)
    added.set(item.advertiserId, (added.get(item.advertiserId) ?? 0) + 1)
  }
  if (duplicates.length > 0) throw new SandboxHttpError(400, duplicates)

  const max = context.options.maxListsPerAdvertiser
  for (const [advertiserId, count] of added) {
    if (context.state.countFor(advertiserId) + count > max) throw sandboxErrors.audienceLimitReached(advertiserId, max)
  }

  const now = context.options.now()
  const created = items.map((item) => context.state.create(item, now))
  return {
    body: { data: created.map((list) => ({ id: list.id, type: 'AudienceSegment' })), ...SUCCESS_ENVELOPE },
    logCounts: { created: created.length }
  }
}

export function amend(context: CallContext, listId: string, body: unknown): HandlerResult {
  const list = requireOwnedList(context, listId)
  const { operation, identifierType, identifiers, gumCallerId } = parseBody(amendBody, body).data.attributes
  if (identifiers.length > context.options.maxIdentifiersPerAmendment) {
    throw sandboxErrors.tooManyIdentifiers(context.options.maxIdentifiersPerAmendment)
  }
  if (operation !== 'add' && operation !== 'remove') throw sandboxErrors.invalidOperation()
  if (!isIdentifierType(identifierType)) throw sandboxErrors.invalidIdentifierType()
  if (identifierType === 'gum' && !Number.isInteger(gumCallerId)) throw sandboxErrors.gumCallerIdRequired()
  if (!identifiers.every((identifier) => typeof identifier === 'string')) {
    throw sandboxErrors.invalidRequestBody('data.attributes.identifiers: every identifier must be a string')
  }

  const sorted = sortIdentifiers(identifierType, identifiers)
  const now = context.options.now()
  if (operation === 'add') context.state.add(list, identifierType, sorted.valid, now)
  else context.state.remove(list, identifierType, sorted.valid, now)
  return {
    body: {
      data: {
        type: 'ContactlistAmendment',
        attributes: {
          contactListId: Number(list.id),
          operation,
          identifierType,
          nbValidIdentifiers: sorted.valid.length,
          nbInvalidIdentifiers: sorted.nbInvalid,
          sampleInvalidIdentifiers: sorted.sampleInvalid
        }
      },
      ...SUCCESS_ENVELOPE
    },
    logCounts: { identifiers: identifiers.length, valid: sorted.valid.length, invalid: sorted.nbInvalid }
  }
}

export function wipe(context: CallContext, listId: string): HandlerResult {
  const list = requireOwnedList(context, listId)
  const removed = listSize(list)
  context.state.wipe(list, context.options.now())
  return {
    body: { data: { type: 'ContactlistWipe', attributes: { contactListId: Number(list.id) } }, ...SUCCESS_ENVELOPE },
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
    body: {
      data: {
        type: 'ContactlistStatistics',
        id: list.id,
        attributes: { numberOfIdentifiers, numberOfMatches, matchRate }
      },
      ...SUCCESS_ENVELOPE
    },
    logCounts: { identifiers: numberOfIdentifiers }
  }
}

/** Partial success, like Criteo's batch endpoints: found lists are deleted, the rest come back in `errors`. */
export function deleteLists(context: CallContext, body: unknown): HandlerResult {
  const deleted: Array<{ id: string; type: 'AudienceSegment' }> = []
  const errors: CriteoError[] = []
  for (const { id } of parseBody(deleteBody, body).data) {
    if (ownedList(context, id) && context.state.delete(id)) {
      deleted.push({ id, type: 'AudienceSegment' })
    } else {
      errors.push({ ...audienceInvalidError(), detail: `Audience segment ${id} was not found` })
    }
  }
  return {
    body: { data: deleted, errors, warnings: [] },
    logCounts: { deleted: deleted.length, notFound: errors.length }
  }
}
