import { Destination } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import definition from '../../src/destinations/criteo-audiences'
import { resetCriteoCaches } from '../../src/destinations/criteo-audiences/criteo/client'
import { UNKNOWN_MEMBERSHIP } from '../../src/destinations/criteo-audiences/plan'
import {
  acceptAmendments,
  amendmentBody,
  criteo,
  hash,
  Recorder,
  searchBody,
  searchById,
  searchByIdBody,
  searchPage,
  SEGMENTS,
  settings,
  tokenOk
} from '../helpers'

beforeEach(() => resetCriteoCaches())

type ActionName = 'addUserToAudience' | 'removeUserFromAudience' | 'syncAudience'

function run(action: ActionName, events: SegmentEvent[], mapping: Record<string, unknown>, subscribe: string) {
  return new Destination(definition)
    .onBatch(events, {
      ...settings,
      subscription: { subscribe, partnerAction: action, mapping }
    } as Parameters<Destination['onBatch']>[1])
    .then((results) => (results[0] as { multistatus: Array<Record<string, unknown>> }).multistatus)
}

function presetNamed(name: string) {
  const preset = definition.presets?.find((p) => p.name === name)
  if (!preset || preset.type !== 'specificEvent') throw new Error(`No specificEvent preset ${name}`)
  return preset
}

/** Engage's context for an audience (or journey step) computed as `key`. */
const personas = (key: string, computationClass = 'audience') => ({
  computation_class: computationClass,
  computation_key: key,
  computation_id: 'aud_1',
  namespace: 'spa_1',
  space_id: 'spa_1'
})

const listed = (scope: ReturnType<typeof criteo>, items = [{ id: '101', name: 'sneaker_buyers' }]) =>
  scope.post(`${SEGMENTS}/search`, searchBody()).query({ limit: 100, offset: 0 }).reply(200, searchPage(items))

describe('presets for every Engage surface', () => {
  it.each([
    [
      'Linked Audience entered',
      'type = "track"',
      {
        type: 'track',
        event: 'Audience Entered',
        userId: 'u1',
        properties: { audience_key: 'sneaker_buyers', audience_name: 'Sneaker Buyers', sneaker_buyers: true },
        context: { traits: { email: 'ann@example.com' }, personas: personas('sneaker_buyers') }
      },
      'add'
    ],
    [
      'Linked Audience exited',
      'type = "track"',
      {
        type: 'track',
        event: 'Audience Exited',
        userId: 'u1',
        properties: { audience_key: 'sneaker_buyers', audience_name: 'Sneaker Buyers', sneaker_buyers: false },
        context: { traits: { email: 'ann@example.com' }, personas: personas('sneaker_buyers') }
      },
      'remove'
    ],
    [
      'Linked Audience membership changed',
      'type = "identify"',
      {
        type: 'identify',
        userId: 'u1',
        traits: { email: 'ann@example.com', sneaker_buyers: false },
        context: { personas: personas('sneaker_buyers') }
      },
      'remove'
    ],
    [
      'Journey step entered',
      'type = "track"',
      {
        type: 'track',
        event: 'Journey Step Entered',
        userId: 'u1',
        properties: {
          sneaker_buyers: true,
          journey_metadata: { journey_id: 'j1', journey_name: 'Welcome', step_id: 's1', step_name: 'Entered' }
        },
        context: { traits: { email: 'ann@example.com' }, personas: personas('sneaker_buyers', 'journey_step') }
      },
      'add'
    ]
  ])('%s: an event of that shape syncs with the preset as it is', async (name, subscribe, event, operation) => {
    const preset = presetNamed(name)
    const scope = criteo()
    tokenOk(scope)
    listed(scope)
    const amendments: Recorder = { bodies: [] }
    acceptAmendments(scope, '101', amendments)

    const result = await run(
      preset.partnerAction as ActionName,
      [event as unknown as SegmentEvent],
      preset.mapping ?? {},
      subscribe
    )

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([amendmentBody(operation, [hash('ann@example.com')])])
    expect(result).toEqual([
      {
        status: 200,
        sent: { audience_key: 'sneaker_buyers', email: hash('ann@example.com') },
        body: { contactListId: '101', operation }
      }
    ])
  })
})

/** Warehouse rows as Reverse ETL sends them: a track event per row change, the model's columns as properties. */
const row = (change: 'new' | 'updated' | 'deleted', email: string) =>
  ({ type: 'track', event: change, userId: email, properties: { email } }) as unknown as SegmentEvent

const retlMapping = (syncMode: string) => ({
  email: { '@path': '$.properties.email' },
  hash_emails: true,
  __segment_internal_sync_mode: syncMode,
  retlOnMappingSave: { inputs: { list_id: '777' }, outputs: { id: '777', name: 'vip_rows' } }
})

/** What a row outside its mapping's sync mode reports, by mode and row. */
const OUTSIDE_MODE: Record<string, string> = {
  'add updated':
    'Not synced: this warehouse row is "updated", and the sync mode of the mapping is add, which adds only new rows. The sync mode mirror would add it.',
  'add deleted':
    'Not synced: this warehouse row is "deleted", and the sync mode of the mapping is add, which adds only new rows. The sync mode mirror would remove it.',
  'delete new':
    'Not synced: this warehouse row is "new", and the sync mode of the mapping is delete, which removes only deleted rows. The sync mode mirror would add it.',
  'delete updated':
    'Not synced: this warehouse row is "updated", and the sync mode of the mapping is delete, which removes only deleted rows. The sync mode mirror would add it.'
}

describe('Reverse ETL (warehouse) audiences', () => {
  it('offers add, delete and mirror, mirror by default, and says what mirror can and cannot do', () => {
    const { syncMode } = definition.actions.syncAudience
    expect(syncMode?.default).toBe('mirror')
    expect(syncMode?.choices.map((choice) => choice.value)).toEqual(['add', 'delete', 'mirror'])
    expect(syncMode?.description).toContain('Criteo cannot list a contact list')
  })

  it.each([
    ['mirror', ['add', 'add', 'remove'], [200, 200, 200]],
    ['add', ['add', undefined, undefined], [200, 400, 400]],
    ['delete', [undefined, undefined, 'remove'], [400, 400, 200]]
  ])('in %s mode, new, updated and deleted rows go to the saved list as the mode says', async (mode, ops, statuses) => {
    const scope = criteo()
    tokenOk(scope)
    searchById(scope, '777', [{ id: '777', name: 'vip_rows' }])
    const amendments: Recorder = { bodies: [] }
    acceptAmendments(scope, '777', amendments, 2)

    const rows = [row('new', 'ann@example.com'), row('updated', 'bob@example.com'), row('deleted', 'cat@example.com')]
    const result = await run('syncAudience', rows, retlMapping(mode), 'type = "track"')

    const emails = ['ann@example.com', 'bob@example.com', 'cat@example.com']
    const sent = (operation: string) => emails.filter((_, i) => ops[i] === operation).map((email) => hash(email))
    expect(amendments.bodies).toEqual([
      ...(sent('add').length ? [amendmentBody('add', sent('add'))] : []),
      ...(sent('remove').length ? [amendmentBody('remove', sent('remove'))] : [])
    ])
    expect(result.map((r) => r.status)).toEqual(statuses)
    for (const [i, r] of result.entries()) {
      if (r.status === 200)
        expect(r).toEqual({
          status: 200,
          sent: { list_id: '777', email: hash(emails[i]) },
          body: { contactListId: '777', operation: ops[i] }
        })
      else
        expect(r).toEqual({
          status: 400,
          errortype: 'INVALID_AUDIENCE_MEMBERSHIP',
          errorreporter: 'INTEGRATIONS',
          errormessage: OUTSIDE_MODE[`${mode} ${['new', 'updated', 'deleted'][i]}`]
        })
    }
  })

  it('reports a row that is neither new, updated nor deleted without repeating what it says, and an Engage event as before', async () => {
    const odd = { ...row('new', 'ann@example.com'), event: 'ann@example.com' } as SegmentEvent
    const engage = {
      type: 'track',
      event: 'Audience Entered',
      properties: { email: 'bob@example.com' },
      context: { personas: personas('vip') }
    } as unknown as SegmentEvent
    const result = await run('syncAudience', [odd, engage], retlMapping('mirror'), 'type = "track"')
    expect(result).toEqual([
      {
        status: 400,
        errortype: 'INVALID_AUDIENCE_MEMBERSHIP',
        errorreporter: 'INTEGRATIONS',
        errormessage:
          'Not synced: this warehouse row is neither new, updated nor deleted, and the sync mode of the mapping is mirror, which adds new and updated rows and removes deleted ones.'
      },
      {
        status: 400,
        errortype: 'INVALID_AUDIENCE_MEMBERSHIP',
        errorreporter: 'INTEGRATIONS',
        errormessage: UNKNOWN_MEMBERSHIP
      }
    ])
  })
})

describe('lists picked or created when the mapping is saved', () => {
  const hook = (
    hookInputs: Record<string, unknown>,
    type: 'retlOnMappingSave' | 'onMappingSave' = 'retlOnMappingSave'
  ) =>
    new Destination(definition).actions.syncAudience.executeHook(type, { settings, hookInputs, payload: {} } as never)

  it('picks an existing list of the advertiser, checked with one filtered search, and saves its id and name', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchById(scope, '777', [{ id: '777', name: 'vip_rows' }])
    expect(await hook({ list_id: '777' })).toEqual({
      successMessage: 'Connected to Criteo list "vip_rows" (777).',
      savedData: { id: '777', name: 'vip_rows' }
    })
    expect(scope.isDone()).toBe(true)
  })

  it.each(['retlOnMappingSave', 'onMappingSave'] as const)('creates a list by name for %s', async (type) => {
    const scope = criteo()
    tokenOk(scope)
    listed(scope, [])
    const creates: unknown[] = []
    scope
      .post(`${SEGMENTS}/create`, (body) => {
        creates.push(body)
        return true
      })
      .reply(200, { data: [{ id: '808', type: 'AudienceSegment' }], errors: [], warnings: [] })
    expect(await hook({ list_name: 'warehouse_vips' }, type)).toEqual({
      successMessage: 'Connected to Criteo list "warehouse_vips" (808).',
      savedData: { id: '808', name: 'warehouse_vips' }
    })
    expect(creates).toEqual([
      {
        data: [
          {
            attributes: {
              advertiserId: '12345',
              name: 'warehouse_vips',
              description: 'warehouse_vips',
              contactList: {}
            }
          }
        ]
      }
    ])
  })

  it('refuses, at save, a list of another advertiser or a read-only one, saving nothing', async () => {
    const scope = criteo()
    tokenOk(scope)
    scope
      .post(`${SEGMENTS}/search`, searchByIdBody('999'))
      .query({ limit: 100, offset: 0 })
      .reply(200, searchPage([{ id: '999', name: 'theirs', advertiserId: '54321' }]))
    expect(await hook({ list_id: '999' })).toEqual({
      error: {
        code: 'NOT_FOUND',
        message:
          "Criteo list 999 does not exist, or is not a contact list of advertiser 12345. Save the mapping again, to create a list or pick one of the advertiser's."
      }
    })
    scope
      .post(`${SEGMENTS}/search`, searchByIdBody('888'))
      .query({ limit: 100, offset: 0 })
      .reply(200, {
        ...searchPage([]),
        data: [
          {
            id: '888',
            type: 'AudienceSegment',
            attributes: {
              advertiserId: '12345',
              name: 'shared',
              type: 'ContactList',
              contactList: { isReadOnly: true }
            }
          }
        ]
      })
    expect(await hook({ list_id: '888' })).toEqual({
      error: {
        code: 'FORBIDDEN',
        message:
          'Criteo list 888 is read-only in Criteo: users cannot be added to or removed from it. Save the mapping again, to create a list or pick a writable one.'
      }
    })
    expect(await hook({})).toEqual({
      error: { code: 'BAD_REQUEST', message: 'Choose an existing Criteo list, or give the name of a list to create.' }
    })
    expect(scope.isDone()).toBe(true)
  })

  it('sends the events of the mapping straight to the saved list, checked once, over any audience key', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchById(scope, '777', [{ id: '777', name: 'vip_rows' }])
    const amendments: Recorder = { bodies: [] }
    acceptAmendments(scope, '777', amendments, 2)
    const engage = {
      type: 'track',
      event: 'Audience Entered',
      userId: 'u1',
      properties: { audience_key: 'sneaker_buyers', sneaker_buyers: true },
      context: { traits: { email: 'ann@example.com' }, personas: personas('sneaker_buyers') }
    } as unknown as SegmentEvent
    const mapping = {
      ...presetNamed('Linked Audience entered').mapping,
      onMappingSave: { inputs: { list_id: '777' }, outputs: { id: '777', name: 'vip_rows' } }
    }

    const first = await run('addUserToAudience', [engage], mapping, 'type = "track"')
    const second = await run('addUserToAudience', [engage], mapping, 'type = "track"')

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toHaveLength(2)
    expect([...first, ...second]).toEqual(
      new Array(2).fill({
        status: 200,
        sent: { list_id: '777', email: hash('ann@example.com') },
        body: { contactListId: '777', operation: 'add' }
      })
    )
  })

  it('fails the events of a saved list that is no longer the advertiser’s with a 404 that says to save again', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchById(scope, '777', [])
    const result = await run('syncAudience', [row('new', 'ann@example.com')], retlMapping('mirror'), 'type = "track"')
    expect(scope.isDone()).toBe(true)
    expect(result).toEqual([
      {
        status: 404,
        errortype: 'NOT_FOUND',
        errorreporter: 'DESTINATION',
        errormessage:
          "Criteo list 777 does not exist, or is not a contact list of advertiser 12345. Save the mapping again, to create a list or pick one of the advertiser's.",
        sent: { list_id: '777', email: hash('ann@example.com') }
      }
    ])
  })
})
