import { request } from 'https'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'
import { createHash } from 'crypto'
import { CriteoStub } from '../../bench/criteo-stub'
import { segmentContender, segmentCriteoFolder, verifyTarball } from '../../bench/segment-criteo'

/** Sends one request through `agent` (to localhost: npm test lets no other host through), its body in `chunks` written one by one; the status and parsed answer. */
function send(
  agent: ReturnType<CriteoStub['agent']>,
  method: string,
  path: string,
  chunks: string[] = []
): Promise<{ status: number; body: unknown }> {
  const length = chunks.reduce((n, chunk) => n + Buffer.byteLength(chunk), 0)
  return new Promise((resolve, reject) => {
    const req = request({ host: 'localhost', path, method, agent, headers: { 'content-length': length } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
    })
    req.on('error', reject)
    for (const chunk of chunks) req.write(chunk)
    req.end()
  })
}

describe('the in-process Criteo of the side-by-side', () => {
  const stub = new CriteoStub('12345', [{ name: 'vip', id: '101' }])
  const agent = stub.agent('https:')
  afterAll(() => agent.destroy())

  it('answers the token, search and amendment requests of both destinations, whatever their API version', async () => {
    expect(await send(agent, 'POST', '/oauth2/token', ['grant_type=client_credentials'])).toEqual({
      status: 200,
      body: { access_token: 'stub-token', token_type: 'Bearer', expires_in: 900 }
    })
    const search = await send(
      agent,
      'POST',
      '/2023-10/marketing-solutions/audience-segments/search?limit=100&offset=0',
      ['{}']
    )
    expect(search).toEqual({
      status: 200,
      body: {
        data: [
          {
            id: '101',
            type: 'AudienceSegment',
            attributes: { advertiserId: '12345', name: 'vip', description: 'vip', type: 'ContactList' }
          }
        ],
        meta: { totalItems: 1, limit: 100, offset: 0 },
        errors: [],
        warnings: []
      }
    })
    // The body split across writes, as a large amendment arrives.
    const body = JSON.stringify({ data: { attributes: { operation: 'add', identifiers: ['a', 'b', 'c'] } } })
    const amendment = await send(agent, 'PATCH', '/2026-07/marketing-solutions/audience-segments/101/contact-list', [
      body.slice(0, 20),
      body.slice(20)
    ])
    expect(amendment).toEqual({
      status: 200,
      body: {
        data: {
          type: 'ContactlistAmendment',
          attributes: {
            contactListId: 101,
            operation: 'add',
            nbValidIdentifiers: 3,
            nbInvalidIdentifiers: 0,
            sampleInvalidIdentifiers: []
          }
        },
        errors: [],
        warnings: []
      }
    })
    expect((await send(agent, 'GET', '/2026-07/elsewhere')).status).toBe(404)
    expect(stub.counts).toEqual({ token: 1, search: 1, create: 0, amend: 1, other: 1 })
  })
})

describe("Segment's destination for the side-by-side", () => {
  let dir: string
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'segment-criteo-test-'))))
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('accepts only the tarball Segment published', () => {
    const tarball = join(dir, 'package.tgz')
    writeFileSync(tarball, 'not the package')
    const integrity = `sha512-${createHash('sha512').update('not the package').digest('base64')}`
    expect(() => verifyTarball(tarball, integrity)).not.toThrow()
    expect(() => verifyTarball(tarball, 'sha512-b9DztTrR1XrfBu')).toThrow(
      `${tarball} is not @segment/action-destinations@3.497.0 as published: its integrity is ${integrity}.`
    )
  })

  it('is used from the cache once fetched, and set up as an admin would, with hashing on as this destination has it', () => {
    // A module of the shape the package's criteo-audiences folder has, standing in for it: no registry in npm test.
    const folder = join(dir, 'criteo-audiences')
    mkdirSync(folder)
    writeFileSync(
      join(folder, 'index.js'),
      `exports.default = { name: 'Criteo Audiences', mode: 'cloud', actions: { addUserToAudience: {
        defaultSubscription: 'type = "track" and event = "Audience Entered"',
        fields: {
          audience_key: { type: 'string', default: { '@path': '$.properties.audience_key' } },
          email: { type: 'string', default: { '@path': '$.context.traits.email' } },
          hash_emails: { type: 'boolean', default: false }
        } } } }`
    )
    expect(segmentCriteoFolder(dir)).toBe(folder)
    const contender = segmentContender({ advertiser_id: '1', client_id: 'c', client_secret: 's' }, folder)
    expect(contender.settings).toEqual({
      advertiser_id: '1',
      client_id: 'c',
      client_secret: 's',
      subscription: {
        subscribe: 'type = "track" and event = "Audience Entered"',
        partnerAction: 'addUserToAudience',
        mapping: {
          audience_key: { '@path': '$.properties.audience_key' },
          email: { '@path': '$.context.traits.email' },
          hash_emails: true
        }
      }
    })
    expect(contender.label).toBe("Segment's criteo-audiences (@segment/action-destinations 3.497.0)")
  })
})
