import { Sandbox } from '../../src/sandbox'
import {
  amend,
  amendment,
  call,
  contractRefusal,
  createList,
  createRequest,
  errorBody,
  Reply,
  sandboxes,
  segmentsPath,
  TENANT_A,
  TENANT_B,
  tokenFor
} from './helpers'

const start = sandboxes()

const AUDIENCE_INVALID = {
  type: 'validation',
  code: 'audience-invalid',
  title: 'Audience is not found, please choose a valid audience'
}

function create(sandbox: Sandbox, token: string, ...items: Parameters<typeof createRequest>): Promise<Reply> {
  return call(sandbox, 'POST', segmentsPath('/create'), { token, json: createRequest(...items) })
}

function deleteSegments(sandbox: Sandbox, token: string, ids: string[]): Promise<Reply> {
  return call(sandbox, 'POST', segmentsPath('/delete'), { token, json: { data: ids.map((id) => ({ id })) } })
}

describe('POST audience-segments/create', () => {
  it('creates contact lists with numeric string ids, unique across advertisers and tenants', async () => {
    const sandbox = await start({ tenants: [TENANT_A, TENANT_B] })
    const tokenA = await tokenFor(sandbox, TENANT_A)
    const tokenB = await tokenFor(sandbox, TENANT_B)

    const reply = await create(
      sandbox,
      tokenA,
      { advertiserId: '100', name: 'one' },
      { advertiserId: '101', name: 'two' }
    )
    const other = await create(sandbox, tokenB, { advertiserId: '200', name: 'one' })

    expect(reply.status).toBe(200)
    const ids = [
      ...(reply.body as { data: Array<{ id: string }> }).data,
      ...(other.body as { data: Array<{ id: string }> }).data
    ].map((item) => item.id)
    expect(reply.body).toEqual({
      data: [
        { id: ids[0], type: 'AudienceSegment' },
        { id: ids[1], type: 'AudienceSegment' }
      ],
      errors: [],
      warnings: []
    })
    ids.forEach((id) => expect(id).toMatch(/^\d+$/))
    expect(new Set(ids).size).toBe(3)
    expect(sandbox.lists()).toEqual([
      { id: ids[0], advertiserId: '100', name: 'one', description: '', readOnly: false, size: 0 },
      { id: ids[1], advertiserId: '101', name: 'two', description: '', readOnly: false, size: 0 },
      { id: ids[2], advertiserId: '200', name: 'one', description: '', readOnly: false, size: 0 }
    ])
    expect(sandbox.lists('101')).toEqual([
      { id: ids[1], advertiserId: '101', name: 'two', description: '', readOnly: false, size: 0 }
    ])
  })

  it('answers a name already used by the same advertiser with 200 and name-must-be-unique in errors', async () => {
    const sandbox = await start({ tenants: [TENANT_A] })
    const token = await tokenFor(sandbox, TENANT_A)
    await createList(sandbox, token, '100', 'first_time_shopper')

    const reply = await create(sandbox, token, { advertiserId: '100', name: 'first_time_shopper' })

    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({
      data: [],
      errors: errorBody(segmentsPath('/create'), {
        type: 'validation',
        code: 'name-must-be-unique',
        title: 'Another Segment exists with the name: first_time_shopper'
      }).errors,
      warnings: []
    })
    expect(sandbox.lists('100')).toHaveLength(1)
  })

  it('allows the same name for another advertiser', async () => {
    const sandbox = await start({ tenants: [TENANT_A] })
    const token = await tokenFor(sandbox, TENANT_A)
    await createList(sandbox, token, '100', 'first_time_shopper')

    const reply = await create(sandbox, token, { advertiserId: '101', name: 'first_time_shopper' })

    expect(reply.status).toBe(200)
    expect(sandbox.lists().map((list) => [list.advertiserId, list.name])).toEqual([
      ['100', 'first_time_shopper'],
      ['101', 'first_time_shopper']
    ])
  })

  it('allows a name again once the list that held it is deleted', async () => {
    const sandbox = await start({ tenants: [TENANT_A] })
    const token = await tokenFor(sandbox, TENANT_A)
    sandbox.deleteList(await createList(sandbox, token, '100', 'reused'))

    const reply = await create(sandbox, token, { advertiserId: '100', name: 'reused' })

    expect(reply.status).toBe(200)
  })

  it('succeeds in part: new names are created and in data, a taken name or one the request repeats is in errors', async () => {
    const sandbox = await start({ tenants: [TENANT_A] })
    const token = await tokenFor(sandbox, TENANT_A)
    await createList(sandbox, token, '100', 'taken')

    const reply = await create(
      sandbox,
      token,
      { advertiserId: '100', name: 'fresh' },
      { advertiserId: '100', name: 'taken' },
      { advertiserId: '100', name: 'twice' },
      { advertiserId: '100', name: 'twice' }
    )

    expect(reply.status).toBe(200)
    const fresh = sandbox.lists('100').find((list) => list.name === 'fresh')
    const twice = sandbox.lists('100').find((list) => list.name === 'twice')
    expect(reply.body).toEqual({
      data: [
        { id: fresh?.id, type: 'AudienceSegment' },
        { id: twice?.id, type: 'AudienceSegment' }
      ],
      errors: errorBody(
        segmentsPath('/create'),
        { type: 'validation', code: 'name-must-be-unique', title: 'Another Segment exists with the name: taken' },
        { type: 'validation', code: 'name-must-be-unique', title: 'Another Segment exists with the name: twice' }
      ).errors,
      warnings: []
    })
    expect(sandbox.lists('100').map((list) => list.name)).toEqual(['taken', 'fresh', 'twice'])
  })

  it('refuses per item a segment that is not a contact list, creating the others', async () => {
    const sandbox = await start({ tenants: [TENANT_A] })
    const token = await tokenFor(sandbox, TENANT_A)

    const reply = await call(sandbox, 'POST', segmentsPath('/create'), {
      token,
      json: {
        data: [
          { attributes: { advertiserId: '100', name: 'no-kind' } },
          { attributes: { advertiserId: '100', name: 'list', contactList: {} } }
        ]
      }
    })

    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({
      data: [{ type: 'AudienceSegment' }],
      errors: [{ type: 'validation', code: 'segment-type-not-supported' }]
    })
    expect(sandbox.lists('100').map((list) => list.name)).toEqual(['list'])
  })

  it.each([
    ['no items', { data: [] }],
    ['no data at all', {}]
  ])('answers a create with %s, which the contract allows, with 200 and nothing created', async (_case, json) => {
    const sandbox = await start()
    const token = await tokenFor(sandbox)

    const reply = await call(sandbox, 'POST', segmentsPath('/create'), { token, json })

    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({ data: [], errors: [], warnings: [] })
    expect(sandbox.lists()).toEqual([])
  })

  it('refuses a list beyond maxListsPerAdvertiser with 400 audience-limit-reached, other advertisers unaffected', async () => {
    const sandbox = await start({ tenants: [TENANT_A], maxListsPerAdvertiser: 2 })
    const token = await tokenFor(sandbox, TENANT_A)
    await createList(sandbox, token, '100', 'one')
    await createList(sandbox, token, '100', 'two')

    const refused = await create(sandbox, token, { advertiserId: '100', name: 'three' })
    const elsewhere = await create(sandbox, token, { advertiserId: '101', name: 'three' })

    expect(refused.status).toBe(400)
    expect(refused.body).toEqual(
      errorBody(segmentsPath('/create'), {
        type: 'validation',
        code: 'audience-limit-reached',
        title: 'Advertiser 100 already has the maximum of 2 audiences'
      })
    )
    expect(elsewhere.status).toBe(200)
    expect(sandbox.lists('100').map((list) => list.name)).toEqual(['one', 'two'])
  })

  it('counts every item of one request against the limit', async () => {
    const sandbox = await start({ tenants: [TENANT_A], maxListsPerAdvertiser: 2 })
    const token = await tokenFor(sandbox, TENANT_A)

    const reply = await create(
      sandbox,
      token,
      { advertiserId: '100', name: 'one' },
      { advertiserId: '100', name: 'two' },
      { advertiserId: '100', name: 'three' }
    )

    expect(reply.status).toBe(400)
    expect(sandbox.lists()).toEqual([])
  })

  it('refuses to create for an advertiser the client does not own with 403 advertiser-access-denied', async () => {
    const sandbox = await start({ tenants: [TENANT_A, TENANT_B] })
    const tokenB = await tokenFor(sandbox, TENANT_B)

    const reply = await create(sandbox, tokenB, { advertiserId: '100', name: 'intruder' })

    expect(reply.status).toBe(403)
    expect(reply.body).toEqual(
      errorBody(segmentsPath('/create'), {
        type: 'access-control',
        code: 'advertiser-access-denied',
        title: 'The client has no access to advertiser 100'
      })
    )
    expect(sandbox.lists()).toEqual([])
  })

  it.each([
    [
      'without a name',
      { data: [{ attributes: { advertiserId: '12345', contactList: {} } }] },
      'data.0.attributes.name: is required'
    ],
    [
      'with a numeric advertiserId',
      { data: [{ attributes: { advertiserId: 12345, name: 'x', contactList: {} } }] },
      'data.0.attributes.advertiserId: must be string'
    ],
    ['whose data is not a list', { data: { attributes: {} } }, 'data: must be array']
  ])('refuses a request %s with 400 invalid-request naming the field', async (_case, json, detail) => {
    const sandbox = await start()
    const token = await tokenFor(sandbox)

    const reply = await call(sandbox, 'POST', segmentsPath('/create'), { token, json })

    expect(reply.status).toBe(400)
    expect(reply.body).toEqual(contractRefusal(segmentsPath('/create'), detail))
    expect(sandbox.lists()).toEqual([])
  })
})

describe('POST audience-segments/delete', () => {
  it('deletes the lists it finds and reports the others as audience-invalid, with 200', async () => {
    const sandbox = await start({ tenants: [TENANT_A, TENANT_B] })
    const tokenA = await tokenFor(sandbox, TENANT_A)
    const tokenB = await tokenFor(sandbox, TENANT_B)
    const mine = await createList(sandbox, tokenA, '100', 'mine')
    const theirs = await createList(sandbox, tokenB, '200', 'theirs')

    const reply = await deleteSegments(sandbox, tokenA, [mine, '999999', theirs])

    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({
      data: [{ id: mine, type: 'AudienceSegment' }],
      errors: errorBody(
        segmentsPath('/delete'),
        { ...AUDIENCE_INVALID, detail: 'Audience segment 999999 was not found' },
        { ...AUDIENCE_INVALID, detail: `Audience segment ${theirs} was not found` }
      ).errors,
      warnings: []
    })
    expect(sandbox.lists().map((list) => list.id)).toEqual([theirs])
  })

  it('refuses per item an item without an id, one whose id is not a list id (never repeating it), and a read-only list', async () => {
    const sandbox = await start()
    const token = await tokenFor(sandbox)
    const shared = sandbox.addReadOnlyList('12345', 'shared')

    const reply = await call(sandbox, 'POST', segmentsPath('/delete'), {
      token,
      json: { data: [{}, { id: 'user@example.com' }, { id: shared }] }
    })

    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({
      data: [],
      errors: errorBody(
        segmentsPath('/delete'),
        { ...AUDIENCE_INVALID, detail: 'An item has no id' },
        { ...AUDIENCE_INVALID, detail: 'An audience segment was not found' },
        {
          type: 'access-control',
          code: 'audience-read-only',
          title: 'This audience is read-only: its users cannot be changed through the API',
          detail: `Audience segment ${shared} is read-only`
        }
      ).errors,
      warnings: []
    })
    expect(sandbox.lists().map((list) => list.id)).toEqual([shared])
  })

  it('leaves a deleted list unreachable: amending it answers 404 audience-invalid', async () => {
    const sandbox = await start()
    const token = await tokenFor(sandbox)
    const id = await createList(sandbox, token, '12345', 'gone')
    await deleteSegments(sandbox, token, [id])

    const reply = await amend(sandbox, token, id, amendment('add', ['user@example.com']))

    expect(reply.status).toBe(404)
    expect(reply.body).toEqual(errorBody(segmentsPath(`/${id}/contact-list`), AUDIENCE_INVALID))
  })
})

describe('deleteList(), as if someone deleted the list in Criteo', () => {
  it('removes the list and its members, so the next amendment answers 404 audience-invalid', async () => {
    const sandbox = await start()
    const token = await tokenFor(sandbox)
    const id = await createList(sandbox, token, '12345', 'doomed')
    await amend(sandbox, token, id, amendment('add', ['user@example.com']))

    sandbox.deleteList(id)
    const reply = await amend(sandbox, token, id, amendment('add', ['user@example.com']))

    expect(reply.status).toBe(404)
    expect(reply.body).toEqual(errorBody(segmentsPath(`/${id}/contact-list`), AUDIENCE_INVALID))
    expect(sandbox.lists()).toEqual([])
    expect(() => sandbox.members(id)).toThrow(`The sandbox holds no list ${id}`)
  })

  it('throws for a list the sandbox does not hold, so a test notices its own mistake', async () => {
    const sandbox = await start()

    expect(() => sandbox.deleteList('424242')).toThrow('The sandbox holds no list 424242')
  })
})
