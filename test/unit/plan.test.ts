import {
  amendmentBody,
  AmendmentChunk,
  NO_CONSENT,
  planAmendments,
  UNKNOWN_MEMBERSHIP
} from '../../src/destinations/criteo-audiences/plan'
import {
  GUM_CALLER_ID_MISSING,
  MISSING_AUDIENCE_KEY,
  NO_IDENTIFIER,
  NOT_A_GUM_ID,
  NOT_A_LIST_ID,
  NOT_A_MADID,
  NOT_AN_EMAIL,
  NOT_AN_IDENTITY_LINK,
  sha256Hex,
  ZEROED_MADID
} from '../../src/destinations/criteo-audiences/identifiers'
import { MAX_IDENTIFIERS_PER_AMENDMENT } from '../../src/destinations/criteo-audiences/limits'

const h = sha256Hex
const ADD = { defaultOperation: 'add' as const }

/** A chunk of emails for the list named `name`, in the shape the plan gives. */
function emails(
  name: string,
  identifiers: string[],
  events: number[],
  positions: number[],
  operation = 'add'
): AmendmentChunk {
  return {
    target: { kind: 'name', name },
    operation,
    identifierType: 'email',
    identifiers,
    events,
    positions
  } as AmendmentChunk
}

describe('planAmendments', () => {
  it('groups by audience in first-seen order, keeping each identifier in its own audience', () => {
    const plan = planAmendments(
      [
        { audience_key: 'a', email: 'x@example.com' },
        { audience_key: 'b', email: 'y@example.com' },
        { audience_key: 'a', email: 'z@example.com' },
        { audience_key: 'b', email: 'x@example.com' }
      ],
      ADD
    )
    expect(plan).toEqual({
      rejected: [],
      chunks: [
        emails('a', [h('x@example.com'), h('z@example.com')], [0, 2], [0, 1]),
        emails('b', [h('y@example.com'), h('x@example.com')], [1, 3], [0, 1])
      ]
    })
  })

  it('treats audience keys that differ only by case as different audiences', () => {
    const plan = planAmendments(
      [
        { audience_key: 'VIP', email: 'x@example.com' },
        { audience_key: 'vip', email: 'x@example.com' }
      ],
      ADD
    )
    expect(plan.chunks.map((c) => c.target)).toEqual([
      { kind: 'name', name: 'VIP' },
      { kind: 'name', name: 'vip' }
    ])
  })

  it('sends a duplicate once and remembers every event that carried it, in any case, padding or hashed form', () => {
    const plan = planAmendments(
      [
        { audience_key: 'a', email: 'x@example.com' },
        { audience_key: 'a', email: ' X@Example.com' },
        { audience_key: 'a', email: h('x@example.com').toUpperCase() },
        { audience_key: 'a', email: 'y@example.com' }
      ],
      ADD
    )
    expect(plan.chunks).toEqual([emails('a', [h('x@example.com'), h('y@example.com')], [0, 1, 2, 3], [0, 0, 0, 1])])
  })

  it('rejects bad emails by index and keeps the rest', () => {
    const plan = planAmendments(
      [
        { audience_key: 'a' },
        { audience_key: 'a', email: 'nope' },
        { audience_key: 'a', email: 'x@example.com' },
        { audience_key: 'a', email: 42 }
      ],
      ADD
    )
    expect(plan.rejected).toEqual([
      { index: 0, reason: NO_IDENTIFIER, kind: 'invalid' },
      { index: 1, reason: NOT_AN_EMAIL, kind: 'invalid' },
      { index: 3, reason: NOT_AN_EMAIL, kind: 'invalid' }
    ])
    expect(plan.chunks).toEqual([emails('a', [h('x@example.com')], [2], [0])])
  })

  it('honours hashing off per event, and sends a value that already is a hash once either way', () => {
    const plan = planAmendments(
      [
        { audience_key: 'a', email: 'X@example.com', hash_emails: false },
        { audience_key: 'a', email: h('y@example.com'), hash_emails: false },
        { audience_key: 'a', email: h('y@example.com') }
      ],
      ADD
    )
    expect(plan.chunks).toEqual([
      emails('a', [h('y@example.com')], [1, 2], [0, 0]),
      emails('a', ['x@example.com'], [0], [0])
    ])
  })

  it.each([
    [0, []],
    [1, [1]],
    [3, [3]],
    [4, [3, 1]],
    [7, [3, 3, 1]]
  ])('cuts %i identifiers into chunks of at most 3: %j', (count, sizes) => {
    const events = Array.from({ length: count }, (_, i) => ({ audience_key: 'a', email: `u${i}@example.com` }))
    const plan = planAmendments(events, { ...ADD, maxPerChunk: 3 })
    expect(plan.chunks.map((c) => c.identifiers.length)).toEqual(sizes)
    expect(plan.chunks.flatMap((c) => c.events)).toEqual(events.map((_, i) => i))
    expect(plan.chunks.flatMap((c) => c.positions)).toEqual(events.map((_, i) => i % 3))
  })

  it('cuts at 50,000 by default', () => {
    expect(MAX_IDENTIFIERS_PER_AMENDMENT).toBe(50_000)
  })

  it('returns nothing to send when nothing is valid', () => {
    expect(planAmendments([{ audience_key: 'a', email: '' }], ADD)).toEqual({
      rejected: [{ index: 0, reason: NO_IDENTIFIER, kind: 'invalid' }],
      chunks: []
    })
  })
})

describe('operations', () => {
  it('adds and removes as each event says, splitting one list into one amendment per operation', () => {
    const plan = planAmendments(
      [
        { audience_key: 'a', email: 'x@example.com' },
        { audience_key: 'a', email: 'y@example.com' },
        { audience_key: 'a', email: 'z@example.com' }
      ],
      { operations: ['add', 'remove', undefined], defaultOperation: 'add' }
    )
    expect(plan.chunks).toEqual([
      emails('a', [h('x@example.com'), h('z@example.com')], [0, 2], [0, 1]),
      emails('a', [h('y@example.com')], [1], [0], 'remove')
    ])
  })

  it('sends a user who enters then exits within one batch once, as the last event says, for both events', () => {
    const plan = planAmendments(
      [
        { audience_key: 'a', email: 'x@example.com' },
        { audience_key: 'a', email: 'X@example.com ' },
        { audience_key: 'a', email: h('y@example.com') },
        { audience_key: 'a', email: 'y@example.com' }
      ],
      { operations: ['add', 'remove', 'remove', 'add'] }
    )
    expect(plan.chunks).toEqual([
      emails('a', [h('y@example.com')], [2, 3], [0, 0]),
      emails('a', [h('x@example.com')], [0, 1], [0, 0], 'remove')
    ])
  })

  it('keeps every identifier, its last operation and its events exact in a list of hundreds, cut into chunks', () => {
    // 300 users enter; then the first 150 of them exit, each from a second event in another case: the last word wins.
    const users = Array.from({ length: 300 }, (_, i) => `user${i}@example.com`)
    const events = [
      ...users.map((email) => ({ audience_key: 'a', email })),
      ...users.slice(0, 150).map((email) => ({ audience_key: 'a', email: email.toUpperCase() }))
    ]
    const operations = [...users.map(() => 'add' as const), ...users.slice(0, 150).map(() => 'remove' as const)]
    const plan = planAmendments(events, { operations, maxPerChunk: 100 })
    const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k)
    const hashes = (from: number, to: number) => range(from, to).map((i) => h(users[i]))
    expect(plan.rejected).toEqual([])
    expect(plan.chunks).toEqual([
      emails('a', hashes(150, 250), range(150, 250), range(0, 100)),
      emails('a', hashes(250, 300), range(250, 300), range(0, 50)),
      // Each exited user's two events point at the one identifier they share.
      emails(
        'a',
        hashes(0, 100),
        [...range(0, 100), ...range(300, 400)],
        [...range(0, 100), ...range(0, 100)],
        'remove'
      ),
      emails(
        'a',
        hashes(100, 150),
        [...range(100, 150), ...range(400, 450)],
        [...range(0, 50), ...range(0, 50)],
        'remove'
      )
    ])
  })

  it('refuses an event that says nothing when the action has no operation of its own', () => {
    expect(planAmendments([{ audience_key: 'a', email: 'x@example.com' }], { operations: [undefined] })).toEqual({
      rejected: [{ index: 0, reason: UNKNOWN_MEMBERSHIP, kind: 'membership' }],
      chunks: []
    })
  })
})

describe('consent', () => {
  it('turns an add without consent into a reported no-op, and still removes', () => {
    const plan = planAmendments(
      [
        { audience_key: 'a', email: 'x@example.com', consent: false },
        { audience_key: 'a', email: 'y@example.com', consent: false },
        { audience_key: 'a', email: 'z@example.com', consent: true },
        { audience_key: 'a', email: 'w@example.com', consent: null }
      ],
      { operations: ['add', 'remove', 'add', 'add'] }
    )
    expect(plan.rejected).toEqual([{ index: 0, reason: NO_CONSENT, kind: 'no-consent' }])
    expect(plan.chunks).toEqual([
      emails('a', [h('z@example.com'), h('w@example.com')], [2, 3], [0, 1]),
      emails('a', [h('y@example.com')], [1], [0], 'remove')
    ])
  })

  it.each([
    ['given, then withdrawn: not sent, both events refused', [true, false], [], [0, 1]],
    ['withdrawn, then given: added, both events carried', [false, true], [0, 1], []],
    ['given, withdrawn, given again: added', [true, false, true], [0, 1, 2], []]
  ])('lets the last add of a user decide the gate: %s', (_, consents, carried, refused) => {
    const plan = planAmendments(
      consents.map((consent) => ({ audience_key: 'a', email: 'x@example.com', consent })),
      { defaultOperation: 'add' }
    )
    expect(plan.chunks).toEqual(
      carried.length === 0
        ? []
        : [
            emails(
              'a',
              [h('x@example.com')],
              carried,
              carried.map(() => 0)
            )
          ]
    )
    expect(plan.rejected).toEqual(refused.map((index) => ({ index, reason: NO_CONSENT, kind: 'no-consent' })))
  })

  it.each([
    [
      'exited, then entered without consent: removed, only the entry refused',
      ['remove', 'add'],
      [false, false],
      [0],
      [1]
    ],
    [
      'entered, exited, entered without consent: removed, both entries refused',
      ['add', 'remove', 'add'],
      [true, true, false],
      [1],
      [0, 2]
    ],
    [
      'entered without consent, exited, entered without consent: removed',
      ['add', 'remove', 'add'],
      [false, false, false],
      [1],
      [0, 2]
    ],
    [
      'entered without consent, then exited: removed, the entry refused',
      ['add', 'remove'],
      [false, undefined],
      [1],
      [0]
    ]
  ] as const)(
    'leaves a removal standing under a later add without consent: %s',
    (_, operations, consents, carried, refused) => {
      const plan = planAmendments(
        consents.map((consent) => ({ audience_key: 'a', email: 'x@example.com', consent })),
        { operations }
      )
      expect(plan.chunks).toEqual([
        emails(
          'a',
          [h('x@example.com')],
          [...carried],
          carried.map(() => 0),
          'remove'
        )
      ])
      expect(plan.rejected).toEqual(refused.map((index) => ({ index, reason: NO_CONSENT, kind: 'no-consent' })))
    }
  )

  describe('per user: identifiers that meet in an event are one user', () => {
    const IDFA = 'aebe52e7-03ee-455a-b3c4-e57283966239'
    const RAMP = 'XY1005wXyWPB'
    const x = 'x@example.com'
    /** What each amendment sends, and for which events. */
    const sends = (events: object[], operations?: ('add' | 'remove')[]) => {
      const plan = planAmendments(
        events.map((event) => ({ audience_key: 'a', ...event })),
        operations ? { operations } : ADD
      )
      return {
        sent: plan.chunks.map((chunk) => [chunk.operation, chunk.identifierType, chunk.identifiers, chunk.events]),
        refused: plan.rejected
          .map(({ index, reason }) => (reason === NO_CONSENT ? index : `${index}: ${reason}`))
          .sort((a, b) => Number(a) - Number(b))
      }
    }

    it.each([
      [
        'an earlier event with the withdrawn email and a madid: neither is added',
        [
          { email: x, madid: IDFA },
          { email: x, consent: false }
        ],
        undefined,
        { sent: [], refused: [0, 1] }
      ],
      [
        'linked through a second event: the identityLink of a user withdrawn by email is not added either',
        [
          { email: x, madid: IDFA },
          { madid: IDFA, identity_link: RAMP },
          { email: x, consent: false }
        ],
        undefined,
        { sent: [], refused: [0, 1, 2] }
      ],
      [
        'another user of the batch is untouched',
        [{ email: x, madid: IDFA }, { email: 'y@example.com' }, { email: x, consent: false }],
        undefined,
        { sent: [['add', 'email', [h('y@example.com')], [1]]], refused: [0, 2] }
      ],
      [
        'consent given again after the withdrawal adds what that event carries, for every event that carried it',
        [
          { email: x, madid: IDFA },
          { email: x, consent: false },
          { madid: IDFA, consent: true }
        ],
        undefined,
        { sent: [['add', 'madid', [IDFA], [0, 2]]], refused: [0, 1] }
      ],
      [
        "a user's removal before the withdrawal still goes, and reports it",
        [{ email: x, madid: IDFA }, { madid: IDFA }, { email: x, consent: false }],
        ['add', 'remove', 'add'] as ('add' | 'remove')[],
        { sent: [['remove', 'madid', [IDFA], [1]]], refused: [0, 2] }
      ]
    ])('%s', (_, events, operations, expected) => {
      expect(sends(events, operations)).toEqual(expected)
    })

    it('withdraws only on the list of the withdrawal', () => {
      const plan = planAmendments(
        [
          { audience_key: 'a', email: x, madid: IDFA },
          { audience_key: 'b', email: x, madid: IDFA },
          { audience_key: 'a', email: x, consent: false }
        ],
        ADD
      )
      expect(plan.chunks.map((chunk) => [chunk.target, chunk.identifierType, chunk.events])).toEqual([
        [{ kind: 'name', name: 'b' }, 'email', [1]],
        [{ kind: 'name', name: 'b' }, 'madid', [1]]
      ])
      expect(plan.rejected).toEqual([0, 2].map((index) => ({ index, reason: NO_CONSENT, kind: 'no-consent' })))
    })
  })
})

describe('identifier types', () => {
  const IDFA = 'AEBE52E7-03EE-455A-B3C4-E57283966239'

  it('sends each identifier of an event in an amendment of its own type, for the same list', () => {
    const plan = planAmendments(
      [
        { audience_key: 'a', email: 'x@example.com', madid: IDFA, identity_link: ' XY1005wXyWPB ', gum_id: 'gum-1' },
        { audience_key: 'a', madid: IDFA.toLowerCase() }
      ],
      { ...ADD, gumCallerId: 42 }
    )
    const target = { kind: 'name', name: 'a' }
    expect(plan).toEqual({
      rejected: [],
      chunks: [
        emails('a', [h('x@example.com')], [0], [0]),
        {
          target,
          operation: 'add',
          identifierType: 'madid',
          identifiers: [IDFA.toLowerCase()],
          events: [0, 1],
          positions: [0, 0]
        },
        {
          target,
          operation: 'add',
          identifierType: 'identityLink',
          identifiers: ['XY1005wXyWPB'],
          events: [0],
          positions: [0]
        },
        { target, operation: 'add', identifierType: 'gum', identifiers: ['gum-1'], events: [0], positions: [0] }
      ]
    })
  })

  it.each([
    ['a madid that is no IDFA or AAID', { madid: 'not-a-uuid' }, NOT_A_MADID],
    ['an identityLink with white space', { identity_link: 'two words' }, NOT_AN_IDENTITY_LINK],
    ['a GUM id with white space', { gum_id: 'a b' }, NOT_A_GUM_ID],
    ['a GUM id without the GUM caller id setting', { gum_id: 'gum-1', noCaller: true }, GUM_CALLER_ID_MISSING]
  ])('rejects %s and still sends the email', (_, fields, reason) => {
    const { noCaller, ...identifiers } = fields as Record<string, unknown>
    const plan = planAmendments([{ audience_key: 'a', email: 'x@example.com', ...identifiers }], {
      ...ADD,
      gumCallerId: noCaller ? undefined : 42
    })
    expect(plan).toEqual({
      rejected: [{ index: 0, reason, kind: 'invalid' }],
      chunks: [emails('a', [h('x@example.com')], [0], [0])]
    })
  })

  it('skips the all-zero advertising id of a user who limited ad tracking, and says so when nothing else is left', () => {
    const zero = '00000000-0000-0000-0000-000000000000'
    const plan = planAmendments(
      [
        { audience_key: 'a', email: 'x@example.com', madid: zero },
        { audience_key: 'a', madid: zero }
      ],
      ADD
    )
    expect(plan).toEqual({
      rejected: [{ index: 1, reason: ZEROED_MADID, kind: 'invalid' }],
      chunks: [emails('a', [h('x@example.com')], [0], [0])]
    })
  })
})

describe('choosing the list', () => {
  it('sends to a chosen list id before a linked one, and to a linked one before the name', () => {
    const plan = planAmendments(
      [
        { audience_key: 'a', list_id: ' 777 ', external_audience_id: '555', email: 'x@example.com' },
        { audience_key: 'a', external_audience_id: '555', email: 'y@example.com' },
        { audience_key: 'b', email: 'z@example.com' },
        { list_id: '777', email: 'w@example.com' }
      ],
      ADD
    )
    expect(plan.chunks.map((c) => [c.target, c.events])).toEqual([
      [{ kind: 'chosen', id: '777' }, [0, 3]],
      [{ kind: 'engage', id: '555' }, [1]],
      [{ kind: 'name', name: 'b' }, [2]]
    ])
  })

  it('sends the events of an audience without its link to the list the batch shows it linked to, before or after the link', () => {
    const plan = planAmendments(
      [
        { audience_key: 'a', email: 'x@example.com' },
        { audience_key: 'a', external_audience_id: '555', email: 'y@example.com' },
        { audience_key: 'a', email: 'z@example.com' },
        { audience_key: 'b', email: 'w@example.com' }
      ],
      ADD
    )
    expect(plan.chunks.map((c) => [c.target, c.events])).toEqual([
      [{ kind: 'engage', id: '555' }, [0, 1, 2]],
      [{ kind: 'name', name: 'b' }, [3]]
    ])
  })

  it('sends an audience by name when the batch links it to two lists: which one its unlinked events belong to is unknown', () => {
    const plan = planAmendments(
      [
        { audience_key: 'a', external_audience_id: '555', email: 'x@example.com' },
        { audience_key: 'a', external_audience_id: '666', email: 'y@example.com' },
        { audience_key: 'a', email: 'z@example.com' }
      ],
      ADD
    )
    expect(plan.chunks.map((c) => [c.target, c.events])).toEqual([
      [{ kind: 'engage', id: '555' }, [0]],
      [{ kind: 'engage', id: '666' }, [1]],
      [{ kind: 'name', name: 'a' }, [2]]
    ])
  })

  it.each([
    ['list_id', { list_id: 'vip list' }],
    ['external_audience_id', { external_audience_id: 'abc' }]
  ])('rejects a %s that is not digits', (_, fields) => {
    expect(planAmendments([{ audience_key: 'a', email: 'x@example.com', ...fields }], ADD)).toEqual({
      rejected: [{ index: 0, reason: NOT_A_LIST_ID, kind: 'invalid' }],
      chunks: []
    })
  })
})

describe('amendmentBody', () => {
  it('is the ContactlistAmendment Criteo documents', () => {
    expect(amendmentBody('remove', 'email', ['abc'])).toEqual({
      data: {
        type: 'ContactlistAmendment',
        attributes: { operation: 'remove', identifierType: 'email', identifiers: ['abc'] }
      }
    })
  })

  it('carries the GUM caller id with GUM ids only', () => {
    expect(amendmentBody('add', 'gum', ['g'], 42).data.attributes).toEqual({
      operation: 'add',
      identifierType: 'gum',
      identifiers: ['g'],
      gumCallerId: 42
    })
    expect(amendmentBody('add', 'madid', ['m'], 42).data.attributes).not.toHaveProperty('gumCallerId')
  })
})

describe('audience keys', () => {
  it.each([[''], ['   '], [undefined as unknown as string]])('rejects the blank key %j', (key) => {
    expect(planAmendments([{ audience_key: key, email: 'x@example.com' }], ADD)).toEqual({
      rejected: [{ index: 0, reason: MISSING_AUDIENCE_KEY, kind: 'invalid' }],
      chunks: []
    })
  })
})
