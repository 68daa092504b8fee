import { createHash } from 'crypto'
import { Sandbox } from '../../src/sandbox'
import {
  amend,
  amendment,
  call,
  CLOCK_START,
  contractRefusal,
  createList,
  errorBody,
  fakeClock,
  Reply,
  sandboxes,
  segmentsPath,
  sha256,
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
const READ_ONLY = {
  type: 'access-control',
  code: 'audience-read-only',
  title: 'This audience is read-only: its users cannot be changed through the API'
}

const SHA256_OF_USER = sha256('user@example.com')
const MD5_OF_USER = createHash('md5').update('user@example.com').digest('hex')

/** A sandbox with one tenant, its token, and one empty list on its advertiser; its clock stands at CLOCK_START. */
async function withList(options: Parameters<ReturnType<typeof sandboxes>>[0] = {}) {
  const sandbox = await start({ now: fakeClock().now, ...options })
  const token = await tokenFor(sandbox)
  const listId = await createList(sandbox, token, '12345', 'first_time_shopper')
  return { sandbox, token, listId }
}

function amendmentResult(listId: string, attributes: Record<string, unknown>) {
  return {
    data: {
      type: 'ContactlistAmendment',
      attributes: { contactListId: Number(listId), requestDate: new Date(CLOCK_START).toISOString(), ...attributes }
    },
    errors: [],
    warnings: []
  }
}

function contactListPath(listId: string): string {
  return segmentsPath(`/${listId}/contact-list`)
}

function invalidBody(listId: string, code: string, title: string) {
  return errorBody(contactListPath(listId), { type: 'validation', code, title })
}

describe('PATCH audience-segments/{id}/contact-list', () => {
  it('hashes a plaintext email on receipt (trimmed, lowercased, SHA-256 hex) and never stores the plaintext', async () => {
    const { sandbox, token, listId } = await withList()

    const reply = await amend(sandbox, token, listId, amendment('add', ['  User@Example.COM ']))

    expect(reply.status).toBe(200)
    expect(reply.body).toEqual(
      amendmentResult(listId, {
        operation: 'add',
        identifierType: 'email',
        nbValidIdentifiers: 1,
        nbInvalidIdentifiers: 0,
        sampleInvalidIdentifiers: []
      })
    )
    expect(sandbox.members(listId)).toEqual([SHA256_OF_USER])
  })

  it('stores SHA-256 and MD5 hex as sent, lowercased, without hashing them again', async () => {
    const { sandbox, token, listId } = await withList()

    await amend(sandbox, token, listId, amendment('add', [SHA256_OF_USER.toUpperCase(), MD5_OF_USER.toUpperCase()]))

    expect(sandbox.members(listId)).toEqual([MD5_OF_USER, SHA256_OF_USER].sort())
  })

  it('keeps one member for the same person sent twice, as plaintext and as its hash', async () => {
    const { sandbox, token, listId } = await withList()

    const reply = await amend(sandbox, token, listId, amendment('add', ['user@example.com', SHA256_OF_USER]))

    expect(reply.body).toMatchObject({ data: { attributes: { nbValidIdentifiers: 2 } } })
    expect(sandbox.members(listId)).toEqual([SHA256_OF_USER])
    expect(sandbox.lists()[0].size).toBe(1)
  })

  it('counts invalid emails and returns them as sent, without failing the call', async () => {
    const { sandbox, token, listId } = await withList()
    const invalid = ['not-an-email', 'user@localhost', '', 'abc123', `${SHA256_OF_USER}0`]

    const reply = await amend(sandbox, token, listId, amendment('add', ['ok@example.com', ...invalid]))

    expect(reply.status).toBe(200)
    expect(reply.body).toEqual(
      amendmentResult(listId, {
        operation: 'add',
        identifierType: 'email',
        nbValidIdentifiers: 1,
        nbInvalidIdentifiers: 5,
        sampleInvalidIdentifiers: invalid
      })
    )
    expect(sandbox.members(listId)).toEqual([sha256('ok@example.com')])
  })

  it('samples at most 10 invalid identifiers, the first ones, while counting them all', async () => {
    const { sandbox, token, listId } = await withList()
    const invalid = Array.from({ length: 12 }, (_, index) => `bad-${index}`)

    const reply = await amend(sandbox, token, listId, amendment('add', invalid))

    expect(reply.body).toMatchObject({
      data: {
        attributes: { nbValidIdentifiers: 0, nbInvalidIdentifiers: 12, sampleInvalidIdentifiers: invalid.slice(0, 10) }
      }
    })
  })

  it('removes members given in any accepted form, and takes the removal of a non-member as a valid no-op', async () => {
    const { sandbox, token, listId } = await withList()
    await amend(sandbox, token, listId, amendment('add', ['user@example.com', 'stays@example.com']))

    const reply = await amend(sandbox, token, listId, amendment('remove', [SHA256_OF_USER, 'never@example.com']))

    expect(reply.body).toEqual(
      amendmentResult(listId, {
        operation: 'remove',
        identifierType: 'email',
        nbValidIdentifiers: 2,
        nbInvalidIdentifiers: 0,
        sampleInvalidIdentifiers: []
      })
    )
    expect(sandbox.members(listId)).toEqual([sha256('stays@example.com')])
  })

  it('stores other identifier types as sent, apart from emails, and counts empty ones invalid', async () => {
    const { sandbox, token, listId } = await withList()

    const madids = await amend(
      sandbox,
      token,
      listId,
      amendment('add', ['AEBE52E7-03EE-455A-B3C4-E57283966239', ''], 'madid')
    )
    await amend(sandbox, token, listId, amendment('add', ['Xy-identity'], 'identityLink'))
    await amend(sandbox, token, listId, amendment('add', ['gum-1'], 'gum', { gumCallerId: 42 }))

    expect(madids.body).toMatchObject({
      data: {
        attributes: {
          identifierType: 'madid',
          nbValidIdentifiers: 1,
          nbInvalidIdentifiers: 1,
          sampleInvalidIdentifiers: ['']
        }
      }
    })
    expect(sandbox.members(listId, 'madid')).toEqual(['AEBE52E7-03EE-455A-B3C4-E57283966239'])
    expect(sandbox.members(listId, 'identityLink')).toEqual(['Xy-identity'])
    expect(sandbox.members(listId, 'gum')).toEqual(['gum-1'])
    expect(sandbox.members(listId)).toEqual([])
    expect(sandbox.lists()[0].size).toBe(3)
  })

  it.each([
    [
      'an unknown operation',
      amendment('replace', ['user@example.com']),
      'data.attributes.operation: must be one of add, remove'
    ],
    [
      'an identifier type in the wrong case',
      amendment('add', ['user@example.com'], 'Email'),
      'data.attributes.identifierType: must be one of email, madid, identityLink, gum, phoneNumber'
    ],
    [
      'a gumCallerId that is not an integer',
      amendment('add', ['gum-1'], 'gum', { gumCallerId: '42' }),
      'data.attributes.gumCallerId: must be integer'
    ],
    [
      'an identifier that is not a string',
      amendment('add', ['user@example.com', { email: 'user@example.com' }]),
      'data.attributes.identifiers.1: must be string'
    ],
    [
      'no data.type',
      { data: { attributes: { operation: 'add', identifiers: ['user@example.com'] } } },
      'data.type: is required'
    ],
    [
      'no operation',
      { data: { type: 'ContactlistAmendment', attributes: { identifiers: ['user@example.com'] } } },
      'data.attributes.operation: is required'
    ],
    [
      'no identifiers',
      { data: { type: 'ContactlistAmendment', attributes: { operation: 'add' } } },
      'data.attributes.identifiers: is required'
    ]
  ])(
    'refuses %s with 400 invalid-request naming the field, never the value, and changes nothing',
    async (_case, body, detail) => {
      const { sandbox, token, listId } = await withList()

      const reply = await amend(sandbox, token, listId, body)

      expect(reply.status).toBe(400)
      expect(reply.body).toEqual(contractRefusal(contactListPath(listId), detail))
      expect(JSON.stringify(reply.body)).not.toContain('user@example.com')
      expect(sandbox.lists()[0].size).toBe(0)
      expect(sandbox.requestCounts().refusedByContract).toBe(1)
    }
  )

  it.each([['not-a-number'], ['user@example.com'], ['2147483648']])(
    'refuses a list id %s, which is no 32-bit integer, naming the path parameter and never repeating it',
    async (listId) => {
      const { sandbox, token } = await withList()

      const reply = await amend(sandbox, token, encodeURIComponent(listId), amendment('add', ['a@example.com']))

      expect(reply.status).toBe(400)
      // The instance shows a list id only when it is digits (the log path), so never an email.
      const instance = /^\d+$/.test(listId) ? contactListPath(listId) : segmentsPath('/{id}/contact-list')
      expect(reply.body).toEqual(
        contractRefusal(instance, 'path parameter audience-segment-id: must be a 32-bit integer')
      )
    }
  )

  it('refuses gum without gumCallerId with 400 gum-caller-id-required (our assumption: the contract does not tie them)', async () => {
    const { sandbox, token, listId } = await withList()

    const reply = await amend(sandbox, token, listId, amendment('add', ['gum-1'], 'gum'))

    expect(reply.status).toBe(400)
    expect(reply.body).toEqual(
      invalidBody(listId, 'gum-caller-id-required', 'identifierType gum needs an integer gumCallerId')
    )
    expect(sandbox.lists()[0].size).toBe(0)
  })

  it('accepts phone numbers, which the contract allows, and keeps them apart from other types', async () => {
    const { sandbox, token, listId } = await withList()

    const reply = await amend(sandbox, token, listId, amendment('add', ['+33600000000'], 'phoneNumber'))

    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({
      data: { attributes: { identifierType: 'phoneNumber', nbValidIdentifiers: 1, nbInvalidIdentifiers: 0 } }
    })
    expect(sandbox.members(listId, 'phoneNumber')).toEqual(['+33600000000'])
    expect(sandbox.members(listId)).toEqual([])
  })

  it('reads an amendment without identifierType, which the contract allows, as emails (our assumption)', async () => {
    const { sandbox, token, listId } = await withList()

    const reply = await amend(sandbox, token, listId, {
      data: { type: 'ContactlistAmendment', attributes: { operation: 'add', identifiers: ['user@example.com'] } }
    })

    expect(reply.status).toBe(200)
    expect(reply.body).toEqual(
      amendmentResult(listId, {
        operation: 'add',
        identifierType: 'email',
        nbValidIdentifiers: 1,
        nbInvalidIdentifiers: 0,
        sampleInvalidIdentifiers: []
      })
    )
    expect(sandbox.members(listId)).toEqual([SHA256_OF_USER])
  })

  it('accepts an amendment with no identifiers, which the contract allows, and changes nothing', async () => {
    const { sandbox, token, listId } = await withList()

    const reply = await amend(sandbox, token, listId, amendment('add', []))

    expect(reply.status).toBe(200)
    expect(reply.body).toEqual(
      amendmentResult(listId, {
        operation: 'add',
        identifierType: 'email',
        nbValidIdentifiers: 0,
        nbInvalidIdentifiers: 0,
        sampleInvalidIdentifiers: []
      })
    )
  })

  it('refuses to amend a read-only list with 403 audience-read-only (our assumption) and changes nothing', async () => {
    const { sandbox, token } = await withList()
    const shared = sandbox.addReadOnlyList('12345', 'shared')

    const reply = await amend(sandbox, token, shared, amendment('add', ['user@example.com']))

    expect(reply.status).toBe(403)
    expect(reply.body).toEqual(errorBody(contactListPath(shared), READ_ONLY))
    expect(sandbox.members(shared)).toEqual([])
  })

  it('refuses more identifiers than maxIdentifiersPerAmendment with 400 too-many-identifiers, and accepts exactly that many', async () => {
    const { sandbox, token, listId } = await withList({ maxIdentifiersPerAmendment: 3 })
    const emails = ['a@example.com', 'b@example.com', 'c@example.com', 'd@example.com']

    const over = await amend(sandbox, token, listId, amendment('add', emails))
    const atCap = await amend(sandbox, token, listId, amendment('add', emails.slice(0, 3)))

    expect(over.status).toBe(400)
    expect(over.body).toEqual(invalidBody(listId, 'too-many-identifiers', 'An amendment holds at most 3 identifiers'))
    expect(atCap.status).toBe(200)
    expect(sandbox.members(listId)).toHaveLength(3)
  })

  it("caps amendments at Criteo's 50,000 identifiers by default", async () => {
    const { sandbox, token, listId } = await withList()
    const emails = Array.from({ length: 50_001 }, (_, index) => `user${index}@example.com`)

    const over = await amend(sandbox, token, listId, amendment('add', emails))
    const atCap = await amend(sandbox, token, listId, amendment('add', emails.slice(0, 50_000)))

    expect(over.status).toBe(400)
    expect(over.body).toEqual(
      invalidBody(listId, 'too-many-identifiers', 'An amendment holds at most 50000 identifiers')
    )
    expect(atCap.status).toBe(200)
    expect(atCap.body).toMatchObject({ data: { attributes: { nbValidIdentifiers: 50_000, nbInvalidIdentifiers: 0 } } })
    expect(sandbox.lists()[0].size).toBe(50_000)
  }, 15_000)

  it('answers 404 audience-invalid for a list that does not exist', async () => {
    const { sandbox, token } = await withList()

    const reply = await amend(sandbox, token, '999999', amendment('add', ['user@example.com']))

    expect(reply.status).toBe(404)
    expect(reply.body).toEqual(errorBody(contactListPath('999999'), AUDIENCE_INVALID))
  })
})

describe("tenant isolation on a list's contact list", () => {
  async function listOfA() {
    const sandbox = await start({ tenants: [TENANT_A, TENANT_B] })
    const tokenA = await tokenFor(sandbox, TENANT_A)
    const listId = await createList(sandbox, tokenA, '100', 'a-list')
    await amend(sandbox, tokenA, listId, amendment('add', ['user@example.com']))
    return { sandbox, listId, tokenB: await tokenFor(sandbox, TENANT_B) }
  }

  it.each([
    ['amend', 'PATCH', '', amendment('remove', ['user@example.com'])],
    ['wipe', 'DELETE', '', undefined],
    ['read the statistics of', 'GET', '/statistics', undefined]
  ])(
    "answers 404 audience-invalid when client B tries to %s client A's list, as if it did not exist",
    async (_case, method, suffix, json) => {
      const { sandbox, listId, tokenB } = await listOfA()

      const reply = await call(sandbox, method, segmentsPath(`/${listId}/contact-list${suffix}`), {
        token: tokenB,
        json
      })

      expect(reply.status).toBe(404)
      expect(reply.body).toEqual(errorBody(segmentsPath(`/${listId}/contact-list${suffix}`), AUDIENCE_INVALID))
      expect(sandbox.members(listId)).toEqual([SHA256_OF_USER])
    }
  )
})

describe('DELETE audience-segments/{id}/contact-list', () => {
  it('removes every member of every identifier type and keeps the list', async () => {
    const { sandbox, token, listId } = await withList()
    await amend(sandbox, token, listId, amendment('add', ['user@example.com']))
    await amend(sandbox, token, listId, amendment('add', ['device-1'], 'madid'))

    const reply = await call(sandbox, 'DELETE', segmentsPath(`/${listId}/contact-list`), { token })

    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({
      data: { id: listId, type: 'AudienceContactlist', attributes: { name: 'first_time_shopper', description: '' } },
      errors: [],
      warnings: []
    })
    expect(sandbox.lists()).toEqual([
      { id: listId, advertiserId: '12345', name: 'first_time_shopper', description: '', readOnly: false, size: 0 }
    ])
  })

  it('answers 404 audience-invalid for a list that does not exist', async () => {
    const { sandbox, token } = await withList()

    const reply = await call(sandbox, 'DELETE', segmentsPath('/999999/contact-list'), { token })

    expect(reply.status).toBe(404)
    expect(reply.body).toEqual(errorBody(contactListPath('999999'), AUDIENCE_INVALID))
  })

  it('refuses to wipe a read-only list with 403 audience-read-only (our assumption)', async () => {
    const { sandbox, token } = await withList()
    const shared = sandbox.addReadOnlyList('12345', 'shared')

    const reply = await call(sandbox, 'DELETE', contactListPath(shared), { token })

    expect(reply.status).toBe(403)
    expect(reply.body).toEqual(errorBody(contactListPath(shared), READ_ONLY))
  })
})

describe('GET audience-segments/{id}/contact-list/statistics', () => {
  function statistics(sandbox: Sandbox, token: string, listId: string): Promise<Reply> {
    return call(sandbox, 'GET', segmentsPath(`/${listId}/contact-list/statistics`), { token })
  }

  it('counts the identifiers and simulates 60% of them matched, rounded', async () => {
    const { sandbox, token, listId } = await withList()
    await amend(sandbox, token, listId, amendment('add', ['a@example.com', 'b@example.com']))
    await amend(sandbox, token, listId, amendment('add', ['device-1'], 'madid'))

    const reply = await statistics(sandbox, token, listId)

    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({
      data: {
        type: 'ContactlistStatistics',
        id: listId,
        attributes: { numberOfIdentifiers: 3, numberOfMatches: 2, matchRate: 2 / 3 }
      },
      errors: [],
      warnings: []
    })
  })

  it('reports an empty list with a match rate of 0', async () => {
    const { sandbox, token, listId } = await withList()

    const reply = await statistics(sandbox, token, listId)

    expect(reply.body).toMatchObject({
      data: { attributes: { numberOfIdentifiers: 0, numberOfMatches: 0, matchRate: 0 } }
    })
  })
})
