import { promises as fs } from 'fs'
import { OpenAPIBackend } from 'openapi-backend'
import { CONTRACT_FILE, CONTRACT_VERSION, loadContract } from '../../src/sandbox'
import { CONTRACT_OPTIONS } from '../../src/sandbox/contract'
import { checkedReply, segmentsPath } from './helpers'

function answer(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })
}

const AMEND = segmentsPath('/123/contact-list')
const STAMPED = { instance: AMEND, traceId: 'c0ffee' }

describe("Criteo's contract, as the sandbox reads it", () => {
  it(`is Criteo's OpenAPI file for ${CONTRACT_VERSION}, read with its error schemas as published`, async () => {
    const text = await fs.readFile(CONTRACT_FILE, 'utf8')
    const contract = await loadContract()

    expect(text.startsWith('openapi: 3.0.1\n')).toBe(true)
    expect(text).toContain(`version: ${CONTRACT_VERSION}\n`)
    expect(contract.schema('AudienceError')).toMatchObject({ required: ['code', 'instance', 'type'] })
    expect(contract.schema('ContactlistOperation_attributes')).toMatchObject({ required: ['operation'] })
  })

  it(
    'is a valid OpenAPI document, which the sandbox does not check again each time it starts',
    async () => {
      const api = new OpenAPIBackend({ ...CONTRACT_OPTIONS, quick: false })

      await expect(api.init()).resolves.toBe(api)
    },
    // Checking the document against the OpenAPI schema takes about two seconds.
    30_000
  )

  it('routes by its own paths: every endpoint the sandbox serves, and nothing else', async () => {
    const contract = await loadContract()

    expect(contract.endpointOf('PATCH', AMEND)).toBe('amend')
    expect(contract.endpointOf('DELETE', AMEND)).toBe('wipe')
    expect(contract.endpointOf('GET', segmentsPath('/123/contact-list/statistics'))).toBe('statistics')
    expect(contract.endpointOf('POST', segmentsPath('/search'))).toBe('search')
    expect(contract.endpointOf('POST', '/oauth2/token')).toBeUndefined()
  })

  it("accepts the contract's own example requests", async () => {
    const contract = await loadContract()

    const amendment = {
      data: {
        type: 'ContactlistAmendment',
        attributes: { gumCallerId: 0, identifiers: ['identifiers'], identifierType: 'email', operation: 'add' }
      }
    }
    const json = 'application/json'
    expect(
      contract.checkRequest({ endpoint: 'amend', listId: '12', query: '', body: amendment, contentType: json })
    ).toEqual([])
    const searchBody = {
      data: { type: 'type', attributes: { advertiserIds: ['1'], audienceSegmentIds: ['2'], audienceSegmentTypes: [] } }
    }
    expect(
      contract.checkRequest({ endpoint: 'search', query: 'limit=0&offset=6', body: searchBody, contentType: json })
    ).toEqual([])
  })

  it.each([
    ['text/plain', ['content-type: must be application/json']],
    ['application/x-www-form-urlencoded', ['content-type: must be application/json']],
    [undefined, ['content-type: must be application/json']],
    ['application/json', []],
    ['Application/JSON; charset=utf-8', []]
  ])('holds a body sent as %s against the media types the contract gives it', async (contentType, problems) => {
    const contract = await loadContract()
    const body = { data: [{ attributes: { advertiserId: '1', name: 'vip' } }] }
    expect(contract.checkRequest({ endpoint: 'create', query: '', body, contentType })).toEqual(problems)
  })

  it('asks nothing of a request without a body', async () => {
    const contract = await loadContract()
    expect(contract.checkRequest({ endpoint: 'statistics', listId: '12', query: '', body: undefined })).toEqual([])
  })
})

describe('the check every sandbox test answer goes through', () => {
  it('fails an amendment 200 without the data the contract requires', async () => {
    await expect(checkedReply('PATCH', AMEND, answer(200, { errors: [], warnings: [] }))).rejects.toThrow(
      `The sandbox's 200 answer to PATCH ${AMEND} breaks Criteo's contract:\n(answer): must have required property 'data'`
    )
  })

  it('fails an amendment 200 whose operation is missing, the one attribute the contract requires', async () => {
    const body = {
      data: { type: 'ContactlistAmendment', attributes: { nbValidIdentifiers: 1 } },
      errors: [],
      warnings: []
    }

    await expect(checkedReply('PATCH', AMEND, answer(200, body))).rejects.toThrow(
      "/data/attributes: must have required property 'operation'"
    )
  })

  it('fails an error answer whose error lacks instance, which AudienceError requires', async () => {
    const body = { errors: [{ type: 'validation', code: 'audience-invalid', title: 'x', traceId: 'c0ffee' }] }

    await expect(checkedReply('PATCH', AMEND, answer(404, body))).rejects.toThrow(
      "/errors/0: must have required property 'instance'"
    )
  })

  it('fails an error answer with no error in it, and one whose error has no traceId', async () => {
    const search = segmentsPath('/search')

    await expect(checkedReply('POST', search, answer(500, { errors: [] }))).rejects.toThrow(
      '/errors: must NOT have fewer than 1 items'
    )
    await expect(
      checkedReply('POST', search, answer(500, { errors: [{ code: 'internal-error', instance: search }] }))
    ).rejects.toThrow('an error or warning without instance and traceId')
  })

  it('passes an answer that follows the contract, nulls included', async () => {
    const body = {
      data: { type: 'ContactlistAmendment', attributes: { operation: 'add', contactListId: null } },
      errors: [],
      warnings: [{ type: 'deprecation', code: 'deprecated-field', detail: 'd', title: null, ...STAMPED }]
    }

    await expect(checkedReply('PATCH', AMEND, answer(200, body))).resolves.toMatchObject({ status: 200, body })
  })
})
