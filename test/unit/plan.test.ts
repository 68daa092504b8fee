import { amendmentBody, planAmendments } from '../../src/destinations/criteo-audiences/plan'
import { MISSING_AUDIENCE_KEY, MISSING_EMAIL, NOT_AN_EMAIL, sha256Hex } from '../../src/destinations/criteo-audiences/identifiers'
import { MAX_IDENTIFIERS_PER_AMENDMENT } from '../../src/destinations/criteo-audiences/limits'

const h = sha256Hex

describe('planAmendments', () => {
  it('groups by audience in first-seen order, keeping each identifier in its own audience', () => {
    const plan = planAmendments([
      { audience_key: 'a', email: 'x@example.com' },
      { audience_key: 'b', email: 'y@example.com' },
      { audience_key: 'a', email: 'z@example.com' },
      { audience_key: 'b', email: 'x@example.com' }
    ])
    expect(plan).toEqual({
      rejected: [],
      chunks: [
        { audienceKey: 'a', identifierType: 'email', identifiers: [h('x@example.com'), h('z@example.com')], eventIndices: [[0], [2]] },
        { audienceKey: 'b', identifierType: 'email', identifiers: [h('y@example.com'), h('x@example.com')], eventIndices: [[1], [3]] }
      ]
    })
  })

  it('treats audience keys that differ only by case as different audiences', () => {
    const plan = planAmendments([
      { audience_key: 'VIP', email: 'x@example.com' },
      { audience_key: 'vip', email: 'x@example.com' }
    ])
    expect(plan.chunks.map((c) => c.audienceKey)).toEqual(['VIP', 'vip'])
  })

  it('sends a duplicate once and remembers every event that carried it', () => {
    const plan = planAmendments([
      { audience_key: 'a', email: 'x@example.com' },
      { audience_key: 'a', email: ' X@Example.com' },
      { audience_key: 'a', email: h('x@example.com').toUpperCase() }
    ])
    expect(plan.chunks).toEqual([
      { audienceKey: 'a', identifierType: 'email', identifiers: [h('x@example.com')], eventIndices: [[0, 1, 2]] }
    ])
  })

  it('rejects bad emails by index and keeps the rest', () => {
    const plan = planAmendments([
      { audience_key: 'a' },
      { audience_key: 'a', email: 'nope' },
      { audience_key: 'a', email: 'x@example.com' }
    ])
    expect(plan.rejected).toEqual([
      { index: 0, reason: MISSING_EMAIL },
      { index: 1, reason: NOT_AN_EMAIL }
    ])
    expect(plan.chunks).toEqual([{ audienceKey: 'a', identifierType: 'email', identifiers: [h('x@example.com')], eventIndices: [[2]] }])
  })

  it('honours hashing off per event', () => {
    const plan = planAmendments([{ audience_key: 'a', email: 'X@example.com', hash_emails: false }])
    expect(plan.chunks[0].identifiers).toEqual(['x@example.com'])
  })

  it.each([
    [0, []],
    [1, [1]],
    [3, [3]],
    [4, [3, 1]],
    [7, [3, 3, 1]]
  ])('cuts %i identifiers into chunks of at most 3: %j', (count, sizes) => {
    const events = Array.from({ length: count }, (_, i) => ({ audience_key: 'a', email: `u${i}@example.com` }))
    const plan = planAmendments(events, 3)
    expect(plan.chunks.map((c) => c.identifiers.length)).toEqual(sizes)
    expect(plan.chunks.flatMap((c) => c.eventIndices.flat())).toEqual(events.map((_, i) => i))
  })

  it('cuts at 50,000 by default', () => {
    expect(MAX_IDENTIFIERS_PER_AMENDMENT).toBe(50_000)
  })

  it('returns nothing to send when nothing is valid', () => {
    expect(planAmendments([{ audience_key: 'a', email: '' }]).chunks).toEqual([])
  })
})

describe('amendmentBody', () => {
  it('is the ContactlistAmendment Criteo documents', () => {
    expect(amendmentBody('remove', 'email', ['abc'])).toEqual({
      data: { type: 'ContactlistAmendment', attributes: { operation: 'remove', identifierType: 'email', identifiers: ['abc'] } }
    })
  })
})

describe('audience keys', () => {
  it.each([[''], ['   '], [undefined as unknown as string]])('rejects the blank key %j', (key) => {
    expect(planAmendments([{ audience_key: key, email: 'x@example.com' }])).toEqual({
      rejected: [{ index: 0, reason: MISSING_AUDIENCE_KEY }],
      chunks: []
    })
  })
})
