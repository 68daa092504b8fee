import type { SegmentEvent } from '@segment/actions-core'
import { resetCriteoCaches } from '../../src/destinations/criteo-audiences/criteo/client'
import { MISSING_AUDIENCE_KEY, NO_IDENTIFIER, NOT_AN_EMAIL } from '../../src/destinations/criteo-audiences/identifiers'
import { MAX_LIST_NAME_LENGTH } from '../../src/destinations/criteo-audiences/limits'
import { amendmentOk, audienceEvent, criteo, hash, runBatch, SEGMENTS, searchPage, tokenOk } from '../helpers'

beforeEach(() => resetCriteoCaches())

/** A Criteo with no lists yet that creates any list asked for and accepts every amendment, recording them. */
function permissiveCriteo() {
  const created: string[] = []
  const amended = new Map<string, string[]>()
  const scope = criteo().persist()
  tokenOk(scope)
  scope.post(`${SEGMENTS}/search`).query(true).reply(200, searchPage([]))
  scope.post(`${SEGMENTS}/create`).reply(200, (_uri, body) => {
    const name = (body as { data: Array<{ attributes: { name: string } }> }).data[0].attributes.name
    created.push(name)
    return { data: [{ id: String(created.length) }], errors: [], warnings: [] }
  })
  scope.patch(/contact-list$/).reply(200, (uri, body) => {
    const id = uri.split('/').slice(-2)[0]
    const ids = (body as { data: { attributes: { identifiers: string[] } } }).data.attributes.identifiers
    amended.set(created[Number(id) - 1], [...(amended.get(created[Number(id) - 1]) ?? []), ...ids])
    const { operation } = (body as { data: { attributes: { operation: string } } }).data.attributes
    return amendmentOk(id, operation, ids.length)
  })
  return { scope, created, amended }
}

afterEach(() => {
  criteo().persist(false)
})

function blankAudience(): SegmentEvent {
  const event = audienceEvent({ email: 'x@example.com', audience: '  ' }) as unknown as {
    context: { personas: object }
  }
  event.context.personas = {}
  return event as unknown as SegmentEvent
}

const good = (n: number) => audienceEvent({ email: `good${n}@example.com`, userId: `good${n}` })
const upperHash = hash('upper@example.com').toUpperCase()

describe('a batch full of bad input', () => {
  const cases: Array<[string, SegmentEvent, number, string | RegExp]> = [
    ['an email that is a number', audienceEvent({ email: 42 }), 400, /email/i],
    ['an email that is an object', audienceEvent({ email: { address: 'x@example.com' } }), 400, /email/i],
    ['an email that is an array of two', audienceEvent({ email: ['x@example.com', 'y@example.com'] }), 400, /email/i],
    ['a null email', audienceEvent({ email: null }), 400, NO_IDENTIFIER],
    ['an empty email', audienceEvent({ email: '' }), 400, NO_IDENTIFIER],
    ['a white-space email', audienceEvent({ email: '   ' }), 400, NO_IDENTIFIER],
    ['a 10,000-character email', audienceEvent({ email: `${'a'.repeat(10_000)}` }), 400, NOT_AN_EMAIL],
    ['an emoji email', audienceEvent({ email: '😀😀😀' }), 400, NOT_AN_EMAIL],
    ['a blank audience key with no computation key', blankAudience(), 400, MISSING_AUDIENCE_KEY],
    [
      'no context at all',
      { type: 'track', event: 'Audience Entered', properties: {} } as unknown as SegmentEvent,
      400,
      /audience_key/
    ]
  ]

  it.each(cases)('%s: its own 400, while every good event of the batch is synced', async (_, bad, status, message) => {
    const { scope, amended } = permissiveCriteo()
    const result = await runBatch([good(1), bad, good(2)])
    expect(result[1].status).toBe(status)
    expect(result[1].errormessage).toEqual(typeof message === 'string' ? message : expect.stringMatching(message))
    expect([result[0].status, result[2].status]).toEqual([200, 200])
    expect(amended.get('first_time_shopper')).toEqual([hash('good1@example.com'), hash('good2@example.com')])
    scope.persist(false)
  })

  it('falls back to the computation key when the audience key property is empty', async () => {
    const { amended } = permissiveCriteo()
    const event = audienceEvent({ email: 'x@example.com', audience: 'vip' }) as { properties: Record<string, unknown> }
    event.properties.audience_key = ''
    const result = await runBatch([event as unknown as SegmentEvent])
    expect(result.map((r) => r.status)).toEqual([200])
    expect(amended.get('vip')).toEqual([hash('x@example.com')])
  })

  it('takes a one-element array of emails as that email, as actions-core coerces it', async () => {
    const { amended } = permissiveCriteo()
    const result = await runBatch([audienceEvent({ email: ['X@example.com'] })])
    expect(result.map((r) => r.status)).toEqual([200])
    expect(amended.get('first_time_shopper')).toEqual([hash('x@example.com')])
  })

  it('syncs unicode and emoji addresses, pre-hashed values in either case, and unusual audience keys', async () => {
    const { amended, created } = permissiveCriteo()
    const hugeKey = 'k'.repeat(MAX_LIST_NAME_LENGTH)
    const result = await runBatch([
      audienceEvent({ email: 'Ünïcödé@Exämple.de' }),
      audienceEvent({ email: 'smile😀@example.com' }),
      audienceEvent({ email: upperHash }),
      audienceEvent({ email: hash('lower@example.com') }),
      audienceEvent({ email: 'x@example.com', audience: 'Vip' }),
      audienceEvent({ email: 'x@example.com', audience: 'vip' }),
      audienceEvent({ email: 'x@example.com', audience: 'clientes_fiéis_🎉' }),
      audienceEvent({ email: 'x@example.com', audience: hugeKey })
    ])
    expect(result.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200, 200, 200])
    expect(created).toEqual(['first_time_shopper', 'Vip', 'vip', 'clientes_fiéis_🎉', hugeKey])
    expect(amended.get('first_time_shopper')).toEqual([
      hash('ünïcödé@exämple.de'),
      hash('smile😀@example.com'),
      hash('upper@example.com'),
      hash('lower@example.com')
    ])
    expect(amended.get('Vip')).toEqual([hash('x@example.com')])
    expect(amended.get('vip')).toEqual([hash('x@example.com')])
  })

  it('refuses an audience key longer than a Criteo list name may be, alone, creating no list for it', async () => {
    const { amended, created } = permissiveCriteo()
    const result = await runBatch([
      audienceEvent({ email: 'x@example.com', audience: 'k'.repeat(1_000_000) }),
      audienceEvent({ email: 'y@example.com', audience: 'vip' })
    ])
    expect(result).toEqual([
      {
        status: 400,
        errortype: 'PAYLOAD_VALIDATION_FAILED',
        errorreporter: 'INTEGRATIONS',
        errormessage:
          'Audience key too long: it has 1000000 characters, and Criteo list names are at most 255. Use a shorter Engage audience key, or choose a Criteo list for this mapping.'
      },
      expect.objectContaining({ status: 200 })
    ])
    expect(created).toEqual(['vip'])
    expect(amended.get('vip')).toEqual([hash('y@example.com')])
  })
})
