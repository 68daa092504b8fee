import { randomBytes } from 'crypto'
import { promises as fs } from 'fs'
import { z } from 'zod'
import { IDENTIFIER_TYPES, IdentifierType } from './identifiers'

export interface StoredList {
  id: string
  advertiserId: string
  name: string
  description: string
  /**
   * `contactList.isReadOnly` in Criteo's search answers: a list the API may show but not change (one shared with the
   * advertiser, say). The sandbox makes such lists only on request: `addReadOnlyList`, or the readOnlyList variant.
   */
  readOnly: boolean
  createdAt: number
  updatedAt: number
  /** A Set per identifier type, so adds, removes and membership checks stay O(1) at a million members. */
  members: Map<IdentifierType, Set<string>>
}

/** Ids look like Criteo's (numeric strings) without looking like small array indexes a client might confuse them with. */
export const FIRST_LIST_ID = 100_001

export function listSize(list: StoredList): number {
  let size = 0
  for (const members of list.members.values()) size += members.size
  return size
}

/** Every list and member the sandbox holds. Lists iterate in creation order, which search pages rely on. */
export class SandboxState {
  private readonly lists = new Map<string, StoredList>()
  /** Per advertiser, its lists by name: name uniqueness and the per-advertiser limit without a scan. */
  private readonly byAdvertiser = new Map<string, Map<string, StoredList>>()
  private nextListId = FIRST_LIST_ID

  all(): StoredList[] {
    return [...this.lists.values()]
  }

  get(id: string): StoredList | undefined {
    return this.lists.get(id)
  }

  countFor(advertiserId: string): number {
    return this.byAdvertiser.get(advertiserId)?.size ?? 0
  }

  hasName(advertiserId: string, name: string): boolean {
    return this.byAdvertiser.get(advertiserId)?.has(name) ?? false
  }

  create(
    fields: { advertiserId: string; name: string; description: string; readOnly?: boolean },
    nowMs: number
  ): StoredList {
    const list: StoredList = {
      id: String(this.nextListId++),
      ...fields,
      readOnly: fields.readOnly ?? false,
      createdAt: nowMs,
      updatedAt: nowMs,
      members: new Map()
    }
    this.insert(list)
    return list
  }

  delete(id: string): boolean {
    const list = this.lists.get(id)
    if (!list) return false
    this.lists.delete(id)
    this.byAdvertiser.get(list.advertiserId)?.delete(list.name)
    return true
  }

  add(list: StoredList, identifierType: IdentifierType, identifiers: readonly string[], nowMs: number): void {
    let members = list.members.get(identifierType)
    if (!members) {
      members = new Set()
      list.members.set(identifierType, members)
    }
    for (const identifier of identifiers) members.add(identifier)
    list.updatedAt = nowMs
  }

  remove(list: StoredList, identifierType: IdentifierType, identifiers: readonly string[], nowMs: number): void {
    const members = list.members.get(identifierType)
    if (members) for (const identifier of identifiers) members.delete(identifier)
    list.updatedAt = nowMs
  }

  wipe(list: StoredList, nowMs: number): void {
    list.members.clear()
    list.updatedAt = nowMs
  }

  toSnapshot(): StateSnapshot {
    return {
      format: SNAPSHOT_FORMAT,
      nextListId: this.nextListId,
      lists: this.all().map((list) => ({
        id: list.id,
        advertiserId: list.advertiserId,
        name: list.name,
        description: list.description,
        readOnly: list.readOnly,
        createdAt: list.createdAt,
        updatedAt: list.updatedAt,
        members: Object.fromEntries([...list.members].map(([type, members]) => [type, [...members]]))
      }))
    }
  }

  static fromSnapshot(snapshot: StateSnapshot): SandboxState {
    const state = new SandboxState()
    state.nextListId = snapshot.nextListId
    for (const saved of snapshot.lists) {
      const members = new Map<IdentifierType, Set<string>>()
      for (const type of IDENTIFIER_TYPES) {
        const savedMembers = saved.members[type]
        if (savedMembers) members.set(type, new Set(savedMembers))
      }
      state.insert({ ...saved, readOnly: saved.readOnly ?? false, members })
    }
    return state
  }

  private insert(list: StoredList): void {
    this.lists.set(list.id, list)
    let names = this.byAdvertiser.get(list.advertiserId)
    if (!names) {
      names = new Map()
      this.byAdvertiser.set(list.advertiserId, names)
    }
    names.set(list.name, list)
  }
}

/** Names the file's layout, so a future change of layout can be told apart from a corrupt file. */
export const SNAPSHOT_FORMAT = 'criteo-sandbox-state/1'

const snapshotSchema = z.object({
  format: z.literal(SNAPSHOT_FORMAT),
  nextListId: z.number().int().positive(),
  lists: z.array(
    z.object({
      id: z.string(),
      advertiserId: z.string(),
      name: z.string(),
      description: z.string(),
      // Absent in files saved before read-only lists existed.
      readOnly: z.boolean().optional(),
      createdAt: z.number(),
      updatedAt: z.number(),
      members: z.partialRecord(z.enum(IDENTIFIER_TYPES), z.array(z.string()))
    })
  )
})

export type StateSnapshot = z.infer<typeof snapshotSchema>

/** The saved state, a fresh one when the file does not exist yet, or an error naming the file when it is unreadable. */
export async function loadState(file: string): Promise<SandboxState> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new SandboxState()
    throw error
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new Error(`Sandbox state file ${file} is not JSON; delete it to start empty`)
  }
  const snapshot = snapshotSchema.safeParse(parsed)
  if (!snapshot.success) {
    throw new Error(`Sandbox state file ${file} is not a ${SNAPSHOT_FORMAT} file; delete it to start empty`)
  }
  return SandboxState.fromSnapshot(snapshot.data)
}

/** The file holds raw identifiers (madids, identityLinks, GUM ids, hashed emails): readable by its owner only. */
export const STATE_FILE_MODE = 0o600

/**
 * Writes to a temporary file first, so a crash mid-write never leaves a half-written state behind. The temporary name
 * is unique per save: two sandboxes on one file may save at once, and the last rename wins whole. The temporary file
 * is created owner-only ('wx' never reuses a file someone else made), and the rename puts it in place of the old file,
 * so the state file is owner-only even where it was readable by others before.
 */
export async function saveState(file: string, state: SandboxState): Promise<void> {
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  await fs.writeFile(temporary, JSON.stringify(state.toSnapshot()), { mode: STATE_FILE_MODE, flag: 'wx' })
  await fs.rename(temporary, file)
}
