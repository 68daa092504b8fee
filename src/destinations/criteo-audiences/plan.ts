import { MAX_IDENTIFIERS_PER_AMENDMENT } from './limits'
import {
  GUM_CALLER_ID_MISSING,
  isSha256Hex,
  isListId,
  isUsableAudienceKey,
  listNameTooLong,
  MISSING_AUDIENCE_KEY,
  MISSING_EMAIL,
  NO_IDENTIFIER,
  NOT_A_GUM_ID,
  NOT_AN_IDENTITY_LINK,
  NOT_A_LIST_ID,
  PreparedOptional,
  prepareEmail,
  prepareMadid,
  prepareOpaqueId,
  ZEROED_MADID
} from './identifiers'

export type Operation = 'add' | 'remove'

/** The identifier types of Criteo's amendment body that this destination sends, in the order it sends them. */
export const IDENTIFIER_TYPES = ['email', 'madid', 'identityLink', 'gum'] as const
export type IdentifierType = (typeof IDENTIFIER_TYPES)[number]

/**
 * The Criteo list an event's users go to: the list named after its audience (found or created), a list the admin
 * chose by id in the mapping's field, the list created or picked when the mapping was saved (its hook's output), or
 * the list Engage linked to the audience (`external_audience_id`). A list given by id is checked to be one of the
 * advertiser's writable contact lists before anything is sent to it.
 */
export type ListTarget =
  | { kind: 'name'; name: string }
  | { kind: 'chosen'; id: string }
  | { kind: 'saved'; id: string }
  | { kind: 'engage'; id: string }

/** Where a list given by id came from: its errors say what to do about it. */
export type ListOrigin = Exclude<ListTarget['kind'], 'name'>

/** The fields of one event that decide what is sent for it. */
export interface AudienceEvent {
  audience_key?: string
  list_id?: string
  /** The list created or picked when the mapping was saved (retlOnMappingSave / onMappingSave). */
  saved_list_id?: string
  external_audience_id?: string
  email?: unknown
  madid?: unknown
  identity_link?: unknown
  gum_id?: unknown
  hash_emails?: boolean
  consent?: unknown
  /** The device's advertising id was left out because its user limited ad tracking (payload.ts). */
  ad_tracking_limited?: boolean
}

/** One amendment to send: identifiers of one type, for one list and operation, at most the per-amendment limit. */
export interface AmendmentChunk {
  target: ListTarget
  operation: Operation
  identifierType: IdentifierType
  identifiers: string[]
  /** The events this amendment speaks for, in batch order; `positions[k]` is where `events[k]`'s identifier is. */
  events: number[]
  positions: number[]
}

/**
 * Why an event, or one identifier of it, is not sent. `invalid` is bad input; `no-consent` is the consent gate;
 * `membership` is an event that says neither that the user entered nor that they exited.
 */
export interface Rejection {
  index: number
  reason: string
  kind: 'invalid' | 'no-consent' | 'membership'
}

export interface BatchPlan {
  rejected: Rejection[]
  chunks: AmendmentChunk[]
}

export interface PlanOptions {
  /** Identifiers per amendment; Criteo's limit by default. */
  maxPerChunk?: number
  /** Each event's operation, by index; `undefined` where the event does not say. */
  operations?: readonly (Operation | undefined)[]
  /** The operation of events with none in `operations`: the action's own. Without one, such events are rejected. */
  defaultOperation?: Operation
  /** The GUM caller id setting; GUM ids are rejected without it. */
  gumCallerId?: number
}

export const NO_CONSENT =
  'Not synced: no consent. The Consent field is false for this user, so they were not added to the Criteo list.'
export const UNKNOWN_MEMBERSHIP =
  'Not synced: this event does not say whether the user entered or exited the audience (no true or false under the audience key in its properties or traits).'

/** What each sync mode a mapping may have does with warehouse rows, by how Reverse ETL names a row's change. */
const SYNC_MODE_DOES: Record<string, string> = {
  add: 'adds only new rows',
  delete: 'removes only deleted rows',
  mirror: 'adds new and updated rows and removes deleted ones'
}

/**
 * Why a Reverse ETL row is not synced when its change (`new`, `updated`, `deleted`) is not one its mapping's sync
 * mode acts on. A change of any other name is not repeated: a row's columns may hold what no message may.
 */
export function rowOutsideSyncMode(syncMode: string, change: unknown): string {
  const known = change === 'new' || change === 'updated' || change === 'deleted'
  const row = known ? `"${change}"` : 'neither new, updated nor deleted'
  const does = SYNC_MODE_DOES[syncMode] ?? 'syncs other rows'
  const mirror =
    !known || syncMode === 'mirror' ? '' : ` The sync mode mirror would ${change === 'deleted' ? 'remove' : 'add'} it.`
  return `Not synced: this warehouse row is ${row}, and the sync mode of the mapping is ${syncMode}, which ${does}.${mirror}`
}

/**
 * A list of integers that grows by doubling: 4 bytes an element where a number array grown by push costs about 30 in
 * memory allocated. It still pays: planning allocates about 85 bytes an email less with it (350 against 435), and a
 * batch of 200,000 peaks about 20 MB lower (BENCHMARKS.md, 4).
 */
class IntList {
  private data = new Int32Array(64)
  length = 0

  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Int32Array(this.data.length * 2)
      grown.set(this.data)
      this.data = grown
    }
    this.data[this.length++] = value
  }

  at(index: number): number {
    return this.data[index]
  }

  set(index: number, value: number): void {
    this.data[index] = value
  }
}

const ADD = 0
const REMOVE = 1
/** An add whose consent is false: it adds nothing, and withdraws the adds of earlier events of the batch. */
const NO_CONSENT_ADD = 2
const OPERATION_CODE = { add: ADD, remove: REMOVE } as const

/** The identifiers of one type for one list: each kept once, with what every event that carried it says. */
class Group {
  private readonly slotOf = new Map<string, number>()
  readonly values: string[] = []
  /** By carrying, in batch order: the event, the slot of the identifier it carries, and its code (ADD, REMOVE…). */
  readonly events = new IntList()
  readonly slots = new IntList()
  readonly codes = new IntList()

  constructor(
    readonly target: ListTarget,
    readonly type: IdentifierType
  ) {}

  /** Records that event `index` carries `value`, saying `code` of it. */
  carry(value: string, index: number, code: number): void {
    let slot = this.slotOf.get(value)
    if (slot === undefined) {
      slot = this.values.length
      this.values.push(value)
      this.slotOf.set(value, slot)
    }
    this.events.push(index)
    this.slots.push(slot)
    this.codes.push(code)
  }
}

/** A list's groups, one per identifier type (emails sent in plain text apart from hashed ones). */
interface TargetGroups {
  target: ListTarget
  email?: Group
  emailPlain?: Group
  madid?: Group
  identityLink?: Group
  gum?: Group
}

/**
 * Plans the amendments for a batch. Each event's identifiers are validated and prepared on their own; a bad one is
 * rejected and the event's other identifiers still go. Identifiers are grouped by list and type, sent once per
 * list even when several events carry them (with the operation of the last of those events), and cut into chunks
 * Criteo accepts.
 *
 * Built for speed and memory, since it sees every identifier: identifiers are de-duplicated on the value sent, so an
 * email and its hash in one batch are one identifier with nothing to merge afterwards; the events of each identifier
 * are kept in two flat integer lists rather than an array per identifier (BENCHMARKS.md, 1 and 4).
 */
export function planAmendments(events: readonly AudienceEvent[], options: PlanOptions = {}): BatchPlan {
  const maxPerChunk = options.maxPerChunk ?? MAX_IDENTIFIERS_PER_AMENDMENT
  const rejected: Rejection[] = []
  // Lists named after an audience, by the raw key (no string is built per event); lists given by id, by target key.
  const byName = new Map<string, TargetGroups>()
  const byId = new Map<string, TargetGroups>()
  const inOrder: TargetGroups[] = []
  const reject = (index: number, reason: string, kind: Rejection['kind'] = 'invalid') => {
    rejected.push({ index, reason, kind })
  }

  const linked = linkedLists(events)
  let withdrawals = false
  for (let index = 0; index < events.length; index++) {
    const event = events[index]
    const operation = options.operations?.[index] ?? options.defaultOperation
    if (operation === undefined) {
      reject(index, UNKNOWN_MEMBERSHIP, 'membership')
      continue
    }

    let groups =
      isBlank(event.list_id) && isBlank(event.saved_list_id) && isBlank(event.external_audience_id)
        ? byName.get(event.audience_key as string)
        : undefined
    if (groups === undefined) {
      let target = targetOf(event)
      if (typeof target === 'string') {
        reject(index, target)
        continue
      }
      const name = target.kind === 'name' ? target.name : undefined
      const link = name === undefined ? undefined : linked?.get(name)
      if (typeof link === 'string') target = { kind: 'engage', id: link }
      const map = target.kind === 'name' ? byName : byId
      const key = target.kind === 'name' ? target.name : targetKey(target)
      groups = map.get(key)
      if (groups === undefined) {
        groups = { target }
        map.set(key, groups)
        inOrder.push(groups)
      }
      // The audience's later events without the link find its list at once.
      if (name !== undefined) byName.set(name, groups)
    }

    // The consent gate is the last event's to decide, like the operation: an add without consent is carried too, so that
    // it withdraws an earlier add of the same user in the batch, and is decided once every event is read (sentAs).
    const code = isAddWithoutConsent(event, operation) ? NO_CONSENT_ADD : OPERATION_CODE[operation]
    let sent = 0
    let problems = 0

    if (event.email !== undefined && event.email !== null && event.email !== '') {
      const hash = event.hash_emails !== false
      const email = prepareEmail(event.email, hash)
      if (email.ok) {
        // A hash is sent as it is whether hashing is on or not: it joins the hashed group either way, where an
        // email and its hash, both in one batch, meet as one identifier.
        const group =
          hash || isSha256Hex(email.value)
            ? (groups.email ??= new Group(groups.target, 'email'))
            : (groups.emailPlain ??= new Group(groups.target, 'email'))
        group.carry(email.value, index, code)
        sent++
      } else if (email.reason !== MISSING_EMAIL) {
        // An email field of white space only holds no email: the event may still have other identifiers.
        reject(index, email.reason)
        problems++
      }
    }

    let zeroedMadid = false
    if (event.madid !== undefined || event.identity_link !== undefined || event.gum_id !== undefined) {
      const others = addOtherIdentifiers(event, groups, index, code, options.gumCallerId)
      sent += others.sent
      for (const reason of others.problems) reject(index, reason)
      problems += others.problems.length
      zeroedMadid = others.zeroedMadid
    }

    if (code === NO_CONSENT_ADD && sent > 0) withdrawals = true
    if (sent === 0 && problems === 0) {
      if (code === NO_CONSENT_ADD) reject(index, NO_CONSENT, 'no-consent')
      else reject(index, zeroedMadid || event.ad_tracking_limited === true ? ZEROED_MADID : NO_IDENTIFIER)
    }
  }

  if (withdrawals) withdrawEarlierAdds(inOrder, events.length)
  const chunks: AmendmentChunk[] = []
  // An event that carried several identifiers withdrawn is refused once.
  let refused: Uint8Array | undefined
  const withoutConsent = (index: number) => {
    refused ??= new Uint8Array(events.length)
    if (refused[index] === 1) return
    refused[index] = 1
    reject(index, NO_CONSENT, 'no-consent')
  }
  for (const groups of inOrder) {
    for (const group of [groups.email, groups.emailPlain, groups.madid, groups.identityLink, groups.gum]) {
      if (group) chunkGroup(group, maxPerChunk, chunks, withoutConsent)
    }
  }
  return { rejected, chunks }
}

/** The consent gate: an add whose Consent field is false sends nothing. A removal goes whatever it says. */
export function isAddWithoutConsent(event: AudienceEvent, operation: Operation): boolean {
  return operation === 'add' && event.consent === false
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || value === ''
}

/** The identifiers besides email, each prepared on its own: how many were kept, and why the others were refused. */
function addOtherIdentifiers(
  event: AudienceEvent,
  groups: TargetGroups,
  index: number,
  code: number,
  gumCallerId: number | undefined
): { sent: number; problems: string[]; zeroedMadid: boolean } {
  const result = { sent: 0, problems: [] as string[], zeroedMadid: false }
  const settle = (outcome: string) => {
    if (outcome === 'sent') result.sent++
    else if (outcome !== 'absent') result.problems.push(outcome)
  }
  if (event.madid !== undefined) {
    const madid = prepareMadid(event.madid)
    result.zeroedMadid = madid.ok === 'absent' && madid.zeroed === true
    settle(addOptional(groups, 'madid', madid, index, code))
  }
  if (event.identity_link !== undefined) {
    settle(addOptional(groups, 'identityLink', prepareOpaqueId(event.identity_link, NOT_AN_IDENTITY_LINK), index, code))
  }
  if (event.gum_id !== undefined) {
    const gum = prepareOpaqueId(event.gum_id, NOT_A_GUM_ID)
    settle(
      gum.ok === true && gumCallerId === undefined
        ? GUM_CALLER_ID_MISSING
        : addOptional(groups, 'gum', gum, index, code)
    )
  }
  return result
}

/** One key per list target: the same list by name and by id stay apart, since only names are looked up. */
export function targetKey(target: ListTarget): string {
  return target.kind === 'name' ? `name:${target.name}` : `${target.kind}:${target.id}`
}

/**
 * The lists Engage linked to audiences, as this batch shows them: audience key → linked list id (null when the batch
 * links the key to two lists). An audience's events sent before it was linked carry no link, and would go by name to
 * the very list that was linked (`createAudience` links the list named after the key): they go to the linked id too,
 * so that the last event of a user decides, and two amendments for one user never race to one list by two ways.
 * Undefined for a batch with no link, the usual case, at the cost of one look at each event.
 */
function linkedLists(events: readonly AudienceEvent[]): Map<string, string | null> | undefined {
  let linked: Map<string, string | null> | undefined
  // In audience-destination mode every event carries the link, and runs of events share key and link: each run is
  // read once.
  let lastKey: unknown
  let lastLink: unknown
  for (const event of events) {
    const link = event.external_audience_id
    if (isBlank(link) || !isBlank(event.list_id) || !isBlank(event.saved_list_id)) continue
    const key = event.audience_key
    if (key === lastKey && link === lastLink) continue
    lastKey = key
    lastLink = link
    // What targetOf reads as the linked list: a link of white space only is none, and one that is no id is refused.
    const id = String(link).trim()
    if (!isListId(id) || !isUsableAudienceKey(key)) continue
    linked ??= new Map()
    const known = linked.get(key)
    linked.set(key, known === undefined || known === id ? id : null)
  }
  return linked
}

/** Where an event's users go, or why it names no list. */
function targetOf(event: AudienceEvent): ListTarget | string {
  // A list chosen in the mapping's field first, then the one saved with the mapping, then the one Engage linked.
  for (const [kind, value] of [
    ['chosen', event.list_id],
    ['saved', event.saved_list_id],
    ['engage', event.external_audience_id]
  ] as const) {
    if (value === undefined || value === null || String(value).trim() === '') continue
    const id = String(value).trim()
    return isListId(id) ? { kind, id } : NOT_A_LIST_ID
  }
  if (!isUsableAudienceKey(event.audience_key)) return MISSING_AUDIENCE_KEY
  return listNameTooLong(event.audience_key) ?? { kind: 'name', name: event.audience_key }
}

/** Adds a prepared non-email identifier to its group: 'sent', 'absent', or the reason it was refused. */
function addOptional(
  groups: TargetGroups,
  type: 'madid' | 'identityLink' | 'gum',
  prepared: PreparedOptional,
  index: number,
  code: number
): string {
  if (prepared.ok === 'absent') return 'absent'
  if (prepared.ok === false) return prepared.reason
  const group = (groups[type] ??= new Group(groups.target, type))
  group.carry(prepared.value, index, code)
  return 'sent'
}

/**
 * The consent gate per user, not per identifier: an add without consent withdraws the adds of every earlier event of
 * its user in the batch, for its list, whatever identifiers they carried. A user is the identifiers that appear
 * together in an event, joined through every event that shares one of them: events that share an identifier are one
 * user's (an event goes to one list, so a user never spans lists). An add after the withdrawal gives consent again
 * for what it carries. Runs only for a batch with an add without consent.
 */
function withdrawEarlierAdds(inOrder: readonly TargetGroups[], eventCount: number): void {
  const groups: Group[] = []
  for (const target of inOrder) {
    for (const group of [target.email, target.emailPlain, target.madid, target.identityLink, target.gum]) {
      if (group) groups.push(group)
    }
  }
  const parent = new Int32Array(eventCount)
  for (let index = 0; index < eventCount; index++) parent[index] = index
  const userOf = (index: number): number => {
    while (parent[index] !== index) index = parent[index] = parent[parent[index]]
    return index
  }
  for (const group of groups) {
    const firstCarrier = new Int32Array(group.values.length).fill(-1)
    for (let k = 0; k < group.events.length; k++) {
      const slot = group.slots.at(k)
      const index = group.events.at(k)
      if (firstCarrier[slot] === -1) firstCarrier[slot] = index
      else parent[userOf(index)] = userOf(firstCarrier[slot])
    }
  }
  const lastWithdrawal = new Int32Array(eventCount).fill(-1)
  for (const group of groups) {
    for (let k = 0; k < group.events.length; k++) {
      if (group.codes.at(k) !== NO_CONSENT_ADD) continue
      const user = userOf(group.events.at(k))
      lastWithdrawal[user] = Math.max(lastWithdrawal[user], group.events.at(k))
    }
  }
  for (const group of groups) {
    for (let k = 0; k < group.events.length; k++) {
      const index = group.events.at(k)
      if (group.codes.at(k) === ADD && index < lastWithdrawal[userOf(index)]) group.codes.set(k, NO_CONSENT_ADD)
    }
  }
}

/** Beside an identifier's last code: some event of the batch removes it. */
const REMOVED = 4
const LAST_CODE = 3

/**
 * What the batch says of each identifier of a group, by slot: the code of the last event that carried it, and
 * `REMOVED` when any event removes it.
 */
function lastCodes(group: Group): Int8Array {
  const state = new Int8Array(group.values.length)
  for (let k = 0; k < group.slots.length; k++) {
    const slot = group.slots.at(k)
    const code = group.codes.at(k)
    state[slot] = (state[slot] & REMOVED) | code | (code === REMOVE ? REMOVED : 0)
  }
  return state
}

/**
 * The operation sent for an identifier, or -1 for none. The last event decides; an add without consent decides only
 * that the user is not added: it withdraws the adds before it and leaves a removal before it standing, so a user who
 * exits and then enters without consent ends off the list, as both events want.
 */
function sentAs(state: number): number {
  const last = state & LAST_CODE
  if (last !== NO_CONSENT_ADD) return last
  return state & REMOVED ? REMOVE : -1
}

/**
 * Cuts a group into chunks of at most `max` identifiers, one run per operation, and hands each event its place: the
 * events that carried an identifier report what is sent for it. An add without consent (its own or withdrawn by a
 * later event of its user) is passed to `withoutConsent` instead when its identifier is not added.
 */
function chunkGroup(
  group: Group,
  max: number,
  chunks: AmendmentChunk[],
  withoutConsent: (index: number) => void
): void {
  const slotCount = group.values.length
  const state = lastCodes(group)
  const chunkOf = new Int32Array(slotCount).fill(-1)
  const positionOf = new Int32Array(slotCount)
  for (const operation of ['add', 'remove'] as const) {
    const code = OPERATION_CODE[operation]
    let current: AmendmentChunk | undefined
    for (let slot = 0; slot < slotCount; slot++) {
      if (sentAs(state[slot]) !== code) continue
      if (!current || current.identifiers.length === max) {
        current = {
          target: group.target,
          operation,
          identifierType: group.type,
          identifiers: [],
          events: [],
          positions: []
        }
        chunks.push(current)
      }
      chunkOf[slot] = chunks.length - 1
      positionOf[slot] = current.identifiers.length
      current.identifiers.push(group.values[slot])
    }
  }
  for (let k = 0; k < group.events.length; k++) {
    const slot = group.slots.at(k)
    const chunk = chunks[chunkOf[slot]]
    // An add without consent speaks for an add that a later event gives consent to, never for a removal.
    if (chunk === undefined || (chunk.operation === 'remove' && group.codes.at(k) === NO_CONSENT_ADD)) {
      withoutConsent(group.events.at(k))
      continue
    }
    chunk.events.push(group.events.at(k))
    chunk.positions.push(positionOf[slot])
  }
}

/** The body of `PATCH /{version}/marketing-solutions/audience-segments/{id}/contact-list`. */
export function amendmentBody(
  operation: Operation,
  identifierType: IdentifierType,
  identifiers: string[],
  gumCallerId?: number
) {
  return {
    data: {
      type: 'ContactlistAmendment',
      attributes: {
        operation,
        identifierType,
        identifiers,
        ...(identifierType === 'gum' && gumCallerId !== undefined ? { gumCallerId } : {})
      }
    }
  }
}
