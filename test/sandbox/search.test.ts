import { Sandbox } from '../../src/sandbox'
import {
  call,
  CLOCK_START,
  contractRefusal,
  errorBody,
  createList,
  createRequest,
  fakeClock,
  Reply,
  sandboxes,
  segmentsPath,
  TENANT_A,
  TENANT_B,
  tokenFor
} from './helpers'

const start = sandboxes()

function searchBody(attributes: Record<string, unknown> = {}) {
  return { data: { attributes } }
}

function search(sandbox: Sandbox, token: string, query: string, attributes?: Record<string, unknown>): Promise<Reply> {
  return call(sandbox, 'POST', segmentsPath(`/search${query}`), { token, json: searchBody(attributes) })
}

function names(reply: Reply): string[] {
  return (reply.body as { data: Array<{ attributes: { name: string } }> }).data.map((item) => item.attributes.name)
}

/** Creates `count` lists named `prefix-1`… in one request, in order. */
async function createMany(sandbox: Sandbox, token: string, advertiserId: string, prefix: string, count: number) {
  const items = Array.from({ length: count }, (_, index) => ({ advertiserId, name: `${prefix}-${index + 1}` }))
  const reply = await call(sandbox, 'POST', segmentsPath('/create'), { token, json: createRequest(...items) })
  expect(reply.status).toBe(200)
}

describe('POST audience-segments/search', () => {
  it('answers each list in Criteo shape, with meta and empty errors and warnings', async () => {
    const clock = fakeClock()
    const sandbox = await start({ tenants: [TENANT_A], now: clock.now })
    const token = await tokenFor(sandbox, TENANT_A)
    const created = await call(sandbox, 'POST', segmentsPath('/create'), {
      token,
      json: createRequest({ advertiserId: '100', name: 'first_time_shopper', description: 'Engage audience' })
    })
    const id = (created.body as { data: Array<{ id: string }> }).data[0].id

    const reply = await search(sandbox, token, '', { advertiserIds: ['100'], audienceSegmentTypes: ['ContactList'] })

    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({
      data: [
        {
          id,
          type: 'AudienceSegment',
          attributes: {
            advertiserId: '100',
            name: 'first_time_shopper',
            description: 'Engage audience',
            type: 'ContactList',
            contactList: { isReadOnly: false },
            createdAt: new Date(CLOCK_START).toISOString(),
            updatedAt: new Date(CLOCK_START).toISOString()
          }
        }
      ],
      meta: { totalItems: 1, limit: 50, offset: 0 },
      errors: [],
      warnings: []
    })
  })

  it('pages in creation order with limit and offset, reporting the total', async () => {
    const sandbox = await start({ tenants: [TENANT_A] })
    const token = await tokenFor(sandbox, TENANT_A)
    await createMany(sandbox, token, '100', 'list', 250)

    const first = await search(sandbox, token, '?limit=100&offset=0')
    const last = await search(sandbox, token, '?limit=100&offset=200')
    const beyond = await search(sandbox, token, '?limit=100&offset=300')

    expect(names(first)).toEqual(Array.from({ length: 100 }, (_, index) => `list-${index + 1}`))
    expect((first.body as { meta: unknown }).meta).toEqual({ totalItems: 250, limit: 100, offset: 0 })
    expect(names(last)).toEqual(Array.from({ length: 50 }, (_, index) => `list-${index + 201}`))
    expect((last.body as { meta: unknown }).meta).toEqual({ totalItems: 250, limit: 100, offset: 200 })
    expect(names(beyond)).toEqual([])
    expect((beyond.body as { meta: unknown }).meta).toEqual({ totalItems: 250, limit: 100, offset: 300 })
  })

  it('answers 50 items when no limit is given', async () => {
    const sandbox = await start({ tenants: [TENANT_A] })
    const token = await tokenFor(sandbox, TENANT_A)
    await createMany(sandbox, token, '100', 'list', 60)

    const reply = await search(sandbox, token, '')

    expect(names(reply)).toHaveLength(50)
    expect((reply.body as { meta: unknown }).meta).toEqual({ totalItems: 60, limit: 50, offset: 0 })
  })

  it.each([
    ['?limit=101', 'query parameter limit: must be <= 100'],
    ['?limit=ten', 'query parameter limit: must be integer'],
    ['?limit=-1', 'query parameter limit: must be >= 0'],
    ['?offset=1.5', 'query parameter offset: must be integer'],
    ['?limit=1&limit=2', 'query parameter limit: must be integer']
  ])('refuses %s with 400 invalid-request naming the parameter, as the contract does', async (query, detail) => {
    const sandbox = await start()
    const token = await tokenFor(sandbox)

    const reply = await search(sandbox, token, query)

    expect(reply.status).toBe(400)
    expect(reply.body).toEqual(contractRefusal(segmentsPath('/search'), detail))
  })

  it('accepts ?limit=0, which the contract allows, with an empty page and the total', async () => {
    const sandbox = await start({ tenants: [TENANT_A] })
    const token = await tokenFor(sandbox, TENANT_A)
    await createMany(sandbox, token, '100', 'list', 3)

    const reply = await search(sandbox, token, '?limit=0')

    expect(reply.status).toBe(200)
    expect(names(reply)).toEqual([])
    expect((reply.body as { meta: unknown }).meta).toEqual({ totalItems: 3, limit: 0, offset: 0 })
  })

  it('reads a negative offset, which the contract does not forbid, as 0', async () => {
    const sandbox = await start({ tenants: [TENANT_A] })
    const token = await tokenFor(sandbox, TENANT_A)
    await createMany(sandbox, token, '100', 'list', 2)

    const reply = await search(sandbox, token, '?offset=-5')

    expect(names(reply)).toEqual(['list-1', 'list-2'])
    expect((reply.body as { meta: unknown }).meta).toEqual({ totalItems: 2, limit: 50, offset: 0 })
  })

  it('refuses a segment type in the wrong case, which the contract enumerates exactly', async () => {
    const sandbox = await start()
    const token = await tokenFor(sandbox)

    const reply = await search(sandbox, token, '', { audienceSegmentTypes: ['contactlist'] })

    expect(reply.status).toBe(400)
    expect(reply.body).toEqual(
      contractRefusal(
        segmentsPath('/search'),
        'data.attributes.audienceSegmentTypes.0: must be one of ' +
          'Unknown, InMarket, Prospecting, ContactList, Location, Behavioral, Retargeting, Lookalike'
      )
    )
  })

  it('finds lists by audienceSegmentIds, ANDed with the other filters, and never shows another tenant its list', async () => {
    const sandbox = await start({ tenants: [TENANT_A, TENANT_B] })
    const token = await tokenFor(sandbox, TENANT_A)
    const on100 = await createList(sandbox, token, '100', 'on-100')
    const on101 = await createList(sandbox, token, '101', 'on-101')
    await createList(sandbox, token, '101', 'other-101')
    const foreign = await createList(sandbox, await tokenFor(sandbox, TENANT_B), '200', 'b-list')

    const byId = await search(sandbox, token, '', { audienceSegmentIds: [on101] })
    const byIds = await search(sandbox, token, '', { audienceSegmentIds: [on100, on101] })
    const idAndAdvertiser = await search(sandbox, token, '', { audienceSegmentIds: [on100], advertiserIds: ['101'] })
    const idAndType = await search(sandbox, token, '', {
      audienceSegmentIds: [on101],
      audienceSegmentTypes: ['Lookalike']
    })
    const foreignId = await search(sandbox, token, '', { audienceSegmentIds: [foreign] })
    const unknownId = await search(sandbox, token, '', { audienceSegmentIds: ['999999'] })

    expect(names(byId)).toEqual(['on-101'])
    expect((byId.body as { meta: unknown }).meta).toEqual({ totalItems: 1, limit: 50, offset: 0 })
    expect(names(byIds)).toEqual(['on-100', 'on-101'])
    expect(names(idAndAdvertiser)).toEqual([])
    expect(names(idAndType)).toEqual([])
    expect(names(foreignId)).toEqual([])
    expect(names(unknownId)).toEqual([])
  })

  it('shows a read-only list with contactList.isReadOnly true', async () => {
    const sandbox = await start({ tenants: [TENANT_A] })
    const token = await tokenFor(sandbox, TENANT_A)
    const shared = sandbox.addReadOnlyList('100', 'shared')

    const reply = await search(sandbox, token, '', { audienceSegmentIds: [shared] })

    expect(reply.body).toMatchObject({
      data: [{ id: shared, attributes: { name: 'shared', contactList: { isReadOnly: true } } }]
    })
  })

  it('ANDs the filters: advertiser and type must both match', async () => {
    const sandbox = await start({ tenants: [TENANT_A] })
    const token = await tokenFor(sandbox, TENANT_A)
    await createList(sandbox, token, '100', 'on-100')
    await createList(sandbox, token, '101', 'on-101')

    const byAdvertiser = await search(sandbox, token, '', { advertiserIds: ['101'] })
    const byBoth = await search(sandbox, token, '', { advertiserIds: ['101'], audienceSegmentTypes: ['ContactList'] })
    const otherType = await search(sandbox, token, '', { advertiserIds: ['101'], audienceSegmentTypes: ['Lookalike'] })
    const noFilter = await search(sandbox, token, '')

    expect(names(byAdvertiser)).toEqual(['on-101'])
    expect(names(byBoth)).toEqual(['on-101'])
    expect(names(otherType)).toEqual([])
    expect(names(noFilter)).toEqual(['on-100', 'on-101'])
  })

  it("shows a client only its own advertisers' lists", async () => {
    const sandbox = await start({ tenants: [TENANT_A, TENANT_B] })
    const tokenA = await tokenFor(sandbox, TENANT_A)
    const tokenB = await tokenFor(sandbox, TENANT_B)
    await createList(sandbox, tokenA, '100', 'a-list')
    await createList(sandbox, tokenB, '200', 'b-list')

    expect(names(await search(sandbox, tokenA, ''))).toEqual(['a-list'])
    expect(names(await search(sandbox, tokenB, ''))).toEqual(['b-list'])
  })

  it('refuses to search an advertiser the client does not own with 403 advertiser-access-denied', async () => {
    const sandbox = await start({ tenants: [TENANT_A, TENANT_B] })
    const tokenA = await tokenFor(sandbox, TENANT_A)
    await createList(sandbox, tokenA, '100', 'a-list')
    const tokenB = await tokenFor(sandbox, TENANT_B)

    const reply = await search(sandbox, tokenB, '', { advertiserIds: ['200', '100'] })

    expect(reply.status).toBe(403)
    expect(reply.body).toEqual(
      errorBody(segmentsPath('/search'), {
        type: 'access-control',
        code: 'advertiser-access-denied',
        title: 'The client has no access to advertiser 100'
      })
    )
  })
})
