/**
 * Variants: answers Criteo's contract allows that a happy-path sandbox never gives, served at a seeded rate so a client
 * meets the whole range of what Criteo may answer. Unlike faults, a variant is never a failure and never a lie: it
 * leaves out or nulls what the contract lets Criteo leave out or null, adds warnings, or reports a name as taken when a
 * list by that name does exist. Counts, ids and outcomes are never changed into something that did not happen.
 *
 * Not served: a 2xx with an empty body. The contract requires `data`, `errors` and `warnings` in every 200, so such an
 * answer is not a success the client may count on (the lead's decision for issue 12).
 */
import { CriteoError, CriteoWarning } from './errors'
import { seededRandom } from './faults'
import type { EndpointKind } from './routes'

export const VARIANT_KINDS = [
  /** A 200 carries a warning: the contract's own example, a `deprecated-field` deprecation. */
  'warning',
  /** An amendment's answer nulls or leaves out some of its optional attributes; only `operation` is required. */
  'nullAmendment',
  /** A search answer nulls or leaves out `meta.totalItems`, or an item's `name`, `advertiserId` or `description`. */
  'nullSearch',
  /**
   * A create is answered 200 with one new name in `errors` as `name-must-be-unique`, the list being created all the
   * same: as when another writer created it a moment before. A search finds it.
   */
  'nameTakenOnCreate',
  /**
   * Before a search, a read-only contact list (`contactList.isReadOnly: true`) appears under one of the advertisers
   * searched, as one shared with the advertiser would; at most MAX_VARIANT_READ_ONLY_LISTS per advertiser.
   */
  'readOnlyList',
  /** Errors come with `title` and `detail` null, which both schemas allow: a client must go by `code`. */
  'nullErrorText'
] as const
export type VariantKind = (typeof VARIANT_KINDS)[number]

export interface VariantPlan {
  /** Share (0..1) of the answers each kind applies to, each kind drawn on its own; default DEFAULT_VARIANT_RATE. */
  rate?: number
  /** Seed of the generator behind every choice; default 1. */
  seed?: number
  /** Kinds served; default all of them. */
  kinds?: VariantKind[]
}

export const DEFAULT_VARIANT_RATE = 0.25
export const DEFAULT_VARIANT_SEED = 1
export const MAX_VARIANT_READ_ONLY_LISTS = 3

const FITS: Record<VariantKind, ReadonlySet<EndpointKind>> = {
  warning: new Set(['search', 'create', 'delete', 'amend', 'wipe', 'statistics']),
  nullAmendment: new Set(['amend']),
  nullSearch: new Set(['search']),
  nameTakenOnCreate: new Set(['create']),
  readOnlyList: new Set(['search']),
  nullErrorText: new Set(['search', 'create', 'delete', 'amend', 'wipe', 'statistics'])
}

/** The variants chosen for one answer, and the generator for the choices they make inside it. */
export interface AnswerVariants {
  has(kind: VariantKind): boolean
  /** Records that a chosen kind really changed the answer (a create with no new name cannot report one taken). */
  applied(kind: VariantKind): void
  readonly random: () => number
}

export const NO_VARIANTS: AnswerVariants = { has: () => false, applied: () => undefined, random: () => 0 }

export interface VariantPicker {
  /** Every call to a contract endpoint takes one number from the seeded generator, so a run replays exactly. */
  pick(endpoint: EndpointKind): AnswerVariants
  readonly counts: Record<VariantKind, number>
}

export function createVariantPicker(plan: VariantPlan | undefined, counts: Record<VariantKind, number>): VariantPicker {
  if (!plan) return { pick: () => NO_VARIANTS, counts }
  const { rate, seed, kinds } = validateVariantPlan(plan)
  const random = seededRandom(seed)
  return {
    counts,
    pick(endpoint) {
      const inner = seededRandom(Math.floor(random() * 2 ** 32))
      const chosen = new Set(
        VARIANT_KINDS.filter((kind) => inner() < rate && kinds.has(kind) && FITS[kind].has(endpoint))
      )
      return {
        has: (kind) => chosen.has(kind),
        applied: (kind) => {
          if (chosen.has(kind)) counts[kind]++
        },
        random: inner
      }
    }
  }
}

export function validateVariantPlan(plan: VariantPlan): { rate: number; seed: number; kinds: Set<VariantKind> } {
  const rate = plan.rate ?? DEFAULT_VARIANT_RATE
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`Variant rate must be between 0 and 1, got ${String(rate)}`)
  const seed = plan.seed ?? DEFAULT_VARIANT_SEED
  if (!Number.isInteger(seed)) throw new RangeError(`Variant seed must be an integer, got ${String(seed)}`)
  const kinds = plan.kinds ?? [...VARIANT_KINDS]
  if (kinds.length === 0)
    throw new RangeError('Variant kinds must name at least one kind; leave it out for the default')
  for (const kind of kinds) {
    if (!(VARIANT_KINDS as readonly string[]).includes(kind)) throw new RangeError(`Unknown variant kind ${kind}`)
  }
  return { rate, seed, kinds: new Set(kinds) }
}

/** The contract's own example of a warning in a 200 (ModifyAudienceResponse, DeleteAudienceContactListResponse). */
export function deprecationWarning(): CriteoWarning {
  return {
    type: 'deprecation',
    code: 'deprecated-field',
    title: "'nbValidIds' is deprecated",
    detail: "The field 'nbValidIds' is deprecated please use 'nbValidIdentifiers"
  }
}

/** The amendment attributes the contract makes nullable and optional. */
const NULLABLE_AMENDMENT_ATTRIBUTES = [
  'contactListId',
  'identifierType',
  'nbValidIdentifiers',
  'nbInvalidIdentifiers',
  'sampleInvalidIdentifiers',
  'requestDate'
] as const

const NULLABLE_SEARCH_ITEM_ATTRIBUTES = ['name', 'advertiserId', 'description'] as const

/** Nulls a field or leaves it out, half and half. */
function blank(target: Record<string, unknown>, field: string, random: () => number): void {
  if (random() < 0.5) target[field] = null
  else delete target[field]
}

function varyAmendment(body: { data: { attributes: Record<string, unknown> } }, random: () => number): void {
  const attributes = body.data.attributes
  const picked = NULLABLE_AMENDMENT_ATTRIBUTES.filter(() => random() < 0.5)
  const fields = picked.length > 0 ? picked : [NULLABLE_AMENDMENT_ATTRIBUTES[Math.floor(random() * 6)]]
  for (const field of fields) blank(attributes, field, random)
}

function varySearch(
  body: { data: Array<{ attributes: Record<string, unknown> }>; meta: Record<string, unknown> },
  random: () => number
): void {
  if (body.data.length === 0 || random() < 0.3) {
    blank(body.meta, 'totalItems', random)
    return
  }
  for (const item of body.data) {
    if (random() < 0.5) continue
    blank(item.attributes, NULLABLE_SEARCH_ITEM_ATTRIBUTES[Math.floor(random() * 3)], random)
  }
}

export interface VariedBody {
  data?: unknown
  meta?: unknown
  errors?: CriteoError[]
  warnings?: CriteoWarning[]
}

/** Applies the variants that only reshape an answer; the ones that act on state are applied by the handlers. */
export function varyAnswer(endpoint: EndpointKind, status: number, body: VariedBody, variants: AnswerVariants): void {
  const random = variants.random
  if (status === 200 && variants.has('warning') && body.warnings) {
    body.warnings.push(deprecationWarning())
    variants.applied('warning')
  }
  if (status === 200 && endpoint === 'amend' && variants.has('nullAmendment')) {
    varyAmendment(body as Parameters<typeof varyAmendment>[0], random)
    variants.applied('nullAmendment')
  }
  if (status === 200 && endpoint === 'search' && variants.has('nullSearch')) {
    varySearch(body as Parameters<typeof varySearch>[0], random)
    variants.applied('nullSearch')
  }
  if (variants.has('nullErrorText') && body.errors && body.errors.length > 0) {
    for (const error of body.errors) {
      error.title = null
      if (error.detail !== undefined) error.detail = null
    }
    variants.applied('nullErrorText')
  }
}
