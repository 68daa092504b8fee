import { MAX_VARIANT_READ_ONLY_LISTS, Sandbox, startSandbox, VARIANT_KINDS, VariantKind } from '../../src/sandbox'
import type { VariantPlan } from '../../src/sandbox'
import {
  amend,
  amendment,
  call,
  createList,
  createRequest,
  Reply,
  sandboxes,
  segmentsPath,
  sha256,
  tokenFor
} from './helpers'

const start = sandboxes()
const ADVERTISER = '12345'

/** Every answer these tests read goes through `call`, which fails a test on any answer that breaks the contract. */
function only(kind: VariantKind, rate = 1): VariantPlan {
  return { rate, kinds: [kind] }
}

async function withList(variants: VariantPlan) {
  const sandbox = await start({ variants })
  const token = await tokenFor(sandbox)
  sandbox.setVariants(undefined)
  const listId = await createList(sandbox, token, ADVERTISER, 'first_time_shopper')
  sandbox.setVariants(variants)
  return { sandbox, token, listId }
}

function search(sandbox: Sandbox, token: string, attributes: Record<string, unknown> = {}): Promise<Reply> {
  return call(sandbox, 'POST', segmentsPath('/search'), { token, json: { data: { attributes } } })
}

type Attributes = Record<string, unknown>

describe('variants: answers the contract allows beyond the happy path', () => {
  it('serves every kind, and every answer still follows the contract', async () => {
    const sandbox = await start({ variants: { rate: 1, seed: 7 } })
    const token = await tokenFor(sandbox)

    const created = await call(sandbox, 'POST', segmentsPath('/create'), {
      token,
      json: createRequest({ advertiserId: ADVERTISER, name: 'a' }, { advertiserId: ADVERTISER, name: 'b' })
    })
    const [listId] = (created.body as { data: Array<{ id: string }> }).data.map((item) => item.id)
    await search(sandbox, token)
    await amend(sandbox, token, listId, amendment('add', ['user@example.com']))
    await call(sandbox, 'GET', segmentsPath(`/${listId}/contact-list/statistics`), { token })
    await call(sandbox, 'DELETE', segmentsPath(`/${listId}/contact-list`), { token })
    await amend(sandbox, token, '999999', amendment('add', ['user@example.com']))
    await call(sandbox, 'POST', segmentsPath('/delete'), { token, json: { data: [{ id: '999999' }] } })

    const counts = sandbox.variantCounts()
    expect(VARIANT_KINDS.filter((kind) => counts[kind] === 0)).toEqual([])
  }, 20_000) // the first answers of each endpoint compile its validators: about a second in all

  it('warning: a 200 carries the deprecation warning of the contract, and the call did what it says', async () => {
    const { sandbox, token, listId } = await withList(only('warning'))

    const reply = await amend(sandbox, token, listId, amendment('add', ['user@example.com']))

    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({
      data: { attributes: { operation: 'add', nbValidIdentifiers: 1 } },
      errors: [],
      warnings: [
        {
          type: 'deprecation',
          code: 'deprecated-field',
          title: "'nbValidIds' is deprecated",
          detail: "The field 'nbValidIds' is deprecated please use 'nbValidIdentifiers",
          instance: segmentsPath(`/${listId}/contact-list`),
          traceId: expect.any(String)
        }
      ]
    })
    expect(sandbox.members(listId)).toEqual([sha256('user@example.com')])
  })

  it('nullAmendment: nulls or leaves out optional attributes, never one that contradicts what was applied', async () => {
    const { sandbox, token, listId } = await withList(only('nullAmendment'))
    const blanked = new Set<string>()

    for (let i = 0; i < 20; i++) {
      const identifiers = [`user${i}@example.com`, 'not-an-email']
      const reply = await amend(sandbox, token, listId, amendment('add', identifiers))
      const attributes = (reply.body as { data: { attributes: Attributes } }).data.attributes
      const truth: Attributes = {
        operation: 'add',
        contactListId: Number(listId),
        identifierType: 'email',
        nbValidIdentifiers: 1,
        nbInvalidIdentifiers: 1,
        sampleInvalidIdentifiers: ['not-an-email'],
        requestDate: expect.any(String)
      }
      for (const [field, value] of Object.entries(truth)) {
        if (attributes[field] === null || !(field in attributes)) blanked.add(field)
        else expect([field, attributes[field]]).toEqual([field, value])
      }
      expect(attributes.operation).toBe('add')
    }

    expect([...blanked].sort()).toEqual(
      [
        'contactListId',
        'identifierType',
        'nbInvalidIdentifiers',
        'nbValidIdentifiers',
        'requestDate',
        'sampleInvalidIdentifiers'
      ].sort()
    )
    expect(sandbox.members(listId)).toHaveLength(20)
    expect(sandbox.variantCounts().nullAmendment).toBe(20)
  })

  it('nullSearch: nulls or leaves out totalItems, names, advertiser ids or descriptions, never a wrong one', async () => {
    const sandbox = await start()
    const token = await tokenFor(sandbox)
    const ids = await Promise.all(['a', 'b', 'c'].map((name) => createList(sandbox, token, ADVERTISER, name)))
    sandbox.setVariants(only('nullSearch'))
    let blankedItems = 0
    let blankedTotals = 0

    for (let i = 0; i < 20; i++) {
      const body = (await search(sandbox, token)).body as {
        data: Array<{ id: string; attributes: Attributes }>
        meta: Attributes
      }
      expect(body.data.map((item) => item.id)).toEqual(ids)
      if (body.meta.totalItems === null || !('totalItems' in body.meta)) blankedTotals++
      else expect(body.meta.totalItems).toBe(3)
      body.data.forEach((item, index) => {
        const truth = { name: ['a', 'b', 'c'][index], advertiserId: ADVERTISER, description: '' }
        for (const [field, value] of Object.entries(truth)) {
          if (item.attributes[field] === null || !(field in item.attributes)) blankedItems++
          else expect(item.attributes[field]).toBe(value)
        }
      })
    }

    expect(blankedTotals).toBeGreaterThan(0)
    expect(blankedItems).toBeGreaterThan(0)
  })

  it('nameTakenOnCreate: a 200 reports a new name as taken, the list exists all the same, and a search finds it', async () => {
    const sandbox = await start({ variants: only('nameTakenOnCreate') })
    const token = await tokenFor(sandbox)

    const reply = await call(sandbox, 'POST', segmentsPath('/create'), {
      token,
      json: createRequest({ advertiserId: ADVERTISER, name: 'vip' }, { advertiserId: ADVERTISER, name: 'other' })
    })
    sandbox.setVariants(undefined)
    const found = await search(sandbox, token)

    expect(reply.status).toBe(200)
    const [vip, other] = sandbox.lists(ADVERTISER)
    expect(reply.body).toMatchObject({
      data: [{ id: other.id, type: 'AudienceSegment' }],
      errors: [{ code: 'name-must-be-unique', title: 'Another Segment exists with the name: vip' }]
    })
    expect([vip.name, other.name]).toEqual(['vip', 'other'])
    expect(found.body).toMatchObject({ data: [{ id: vip.id, attributes: { name: 'vip' } }, { id: other.id }] })
    expect(sandbox.variantCounts().nameTakenOnCreate).toBe(1)
  })

  it(`readOnlyList: a search shows read-only lists, at most ${MAX_VARIANT_READ_ONLY_LISTS} per advertiser, that refuse amendments`, async () => {
    const sandbox = await start({ variants: only('readOnlyList') })
    const token = await tokenFor(sandbox)

    for (let i = 0; i < 5; i++) await search(sandbox, token)
    const reply = await search(sandbox, token)
    const items = (reply.body as { data: Array<{ id: string; attributes: Attributes }> }).data
    const refused = await amend(sandbox, token, items[0].id, amendment('add', ['user@example.com']))

    expect(items).toHaveLength(MAX_VARIANT_READ_ONLY_LISTS)
    for (const item of items) expect(item.attributes.contactList).toEqual({ isReadOnly: true })
    expect(refused.status).toBe(403)
    expect(refused.body).toMatchObject({ errors: [{ code: 'audience-read-only' }] })
    expect(sandbox.members(items[0].id)).toEqual([])
    expect(sandbox.variantCounts().readOnlyList).toBe(MAX_VARIANT_READ_ONLY_LISTS)
  })

  it('nullErrorText: an error keeps its code with a null title and detail', async () => {
    const sandbox = await start({ variants: only('nullErrorText') })
    const token = await tokenFor(sandbox)

    const missing = await amend(sandbox, token, '999999', amendment('add', ['user@example.com']))
    const deleted = await call(sandbox, 'POST', segmentsPath('/delete'), { token, json: { data: [{ id: '999999' }] } })

    expect(missing.status).toBe(404)
    expect(missing.body).toMatchObject({ errors: [{ type: 'validation', code: 'audience-invalid', title: null }] })
    expect(deleted.status).toBe(200)
    expect(deleted.body).toMatchObject({ errors: [{ code: 'audience-invalid', title: null, detail: null }] })
  })

  it('replays exactly from its seed, and another seed answers otherwise', async () => {
    async function run(seed: number): Promise<unknown[]> {
      const sandbox = await start({ variants: { rate: 0.5, seed, kinds: ['nullAmendment', 'warning'] } })
      const token = await tokenFor(sandbox)
      const listId = await createList(sandbox, token, ADVERTISER, 'list')
      const answers: unknown[] = []
      for (let i = 0; i < 10; i++) {
        const reply = await amend(sandbox, token, listId, amendment('add', [`u${i}@example.com`]))
        const body = reply.body as { data: { attributes: Attributes }; warnings: unknown[] }
        answers.push([Object.keys(body.data.attributes).sort(), body.warnings.length])
      }
      return answers
    }

    const first = await run(3)
    expect(await run(3)).toEqual(first)
    expect(await run(4)).not.toEqual(first)
  })

  it('serves nothing at rate 0, and nothing once setVariants(undefined) turns them off', async () => {
    const { sandbox, token, listId } = await withList({ rate: 0 })

    const plain = await amend(sandbox, token, listId, amendment('add', ['user@example.com']))
    sandbox.setVariants({ rate: 1 })
    await amend(sandbox, token, listId, amendment('add', ['user@example.com']))
    sandbox.setVariants(undefined)
    const off = await amend(sandbox, token, listId, amendment('add', ['user@example.com']))

    expect(plain.body).toMatchObject({ warnings: [], data: { attributes: { nbValidIdentifiers: 1 } } })
    expect(off.body).toMatchObject({ warnings: [], data: { attributes: { nbValidIdentifiers: 1 } } })
    expect(sandbox.variantCounts().warning).toBe(1)
  })

  it.each([
    [{ rate: 2 }, 'Variant rate must be between 0 and 1, got 2'],
    [{ seed: 1.5 }, 'Variant seed must be an integer, got 1.5'],
    [{ kinds: [] }, 'Variant kinds must name at least one kind; leave it out for the default'],
    [{ kinds: ['emptyBody'] }, 'Unknown variant kind emptyBody']
  ])('refuses the plan %j at start: %s', async (variants, message) => {
    await expect(startSandbox({ variants: variants as VariantPlan })).rejects.toThrow(message)
  })
})
