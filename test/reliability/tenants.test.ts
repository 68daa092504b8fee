import { setFlagsFromString } from 'v8'
import { runInNewContext } from 'vm'
import type { RequestClient } from '@segment/actions-core'
import { CriteoClient, resetCriteoCaches } from '../../src/destinations/criteo-audiences/criteo/client'
import { CACHED_TENANTS_MAX } from '../../src/destinations/criteo-audiences/limits'
import { amendmentBody, amendmentOk, audienceEvent, criteo, runBatch, searchPage, SEGMENTS } from '../helpers'

// A garbage collector to call, without starting jest with --expose-gc.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

beforeEach(() => resetCriteoCaches())

const TENANTS = 50
const LISTS_EACH = 1_000

/**
 * One Criteo app per tenant (its own client id and advertiser), each advertiser with 1,000 contact lists named
 * list_0 … list_999; every request is counted by kind.
 */
function manyTenants() {
  const requests = { token: 0, search: 0, amend: 0 }
  const scope = criteo().persist()
  scope.post('/oauth2/token').reply(200, (_uri, body) => {
    requests.token++
    const clientId = new URLSearchParams(body as string).get('client_id')
    return { access_token: `token-${clientId}`, token_type: 'Bearer', expires_in: 900 }
  })
  scope
    .post(`${SEGMENTS}/search`)
    .query(true)
    .reply(200, (uri, body) => {
      requests.search++
      const url = new URL(uri, 'https://api.criteo.com')
      const offset = Number(url.searchParams.get('offset'))
      const limit = Number(url.searchParams.get('limit'))
      const advertiser = (body as { data: { attributes: { advertiserIds: string[] } } }).data.attributes
        .advertiserIds[0]
      const items = Array.from({ length: Math.max(0, Math.min(limit, LISTS_EACH - offset)) }, (_, k) => ({
        id: `${advertiser}${String(offset + k).padStart(4, '0')}`,
        name: `list_${offset + k}`,
        advertiserId: advertiser
      }))
      return { ...searchPage(items, LISTS_EACH, offset, limit) }
    })
  scope.patch(/contact-list$/).reply(200, (uri, body) => {
    requests.amend++
    const { operation, identifiers } = (body as ReturnType<typeof amendmentBody>).data.attributes
    return amendmentOk(uri.split('/').slice(-2)[0], operation, identifiers.length)
  })
  return { scope, requests }
}

const tenant = (t: number) => ({
  advertiser_id: String(1000 + t),
  client_id: `client-${t}`,
  client_secret: `secret-${t}`
})

it(`costs one request per steady-state batch for ${TENANTS} tenants of ${LISTS_EACH} lists each`, async () => {
  const { scope, requests } = manyTenants()
  // Each tenant syncs two audiences, both near the end of its lists: finding them pages through nearly all 1,000.
  const audiences = ['list_990', 'list_999']
  const round = async () => {
    for (let t = 0; t < TENANTS; t++) {
      for (const audience of audiences) {
        const result = await runBatch([audienceEvent({ email: `user${t}@example.com`, audience })], {
          settings: tenant(t)
        })
        expect(result.map((r) => r.status)).toEqual([200])
      }
    }
  }
  try {
    await round()
    const warm = { ...requests }
    await round()
    await round()
    expect({
      token: requests.token - warm.token,
      search: requests.search - warm.search,
      amend: requests.amend - warm.amend
    }).toEqual({ token: 0, search: 0, amend: 2 * TENANTS * audiences.length })
  } finally {
    scope.persist(false)
  }
}, 60_000)

/** A Criteo answering in memory, without HTTP: what is measured is the client's caches, not nock's. */
const inMemoryCriteo = (async (url: string, options?: { json?: unknown }) => {
  if (url.endsWith('/oauth2/token')) {
    return { status: 200, data: { access_token: 'token', expires_in: 900 }, headers: new Headers() }
  }
  const advertiser = (options?.json as { data: { attributes: { advertiserIds: string[] } } }).data.attributes
    .advertiserIds[0]
  return {
    status: 200,
    data: searchPage([{ id: `${advertiser}1`, name: 'vip', advertiserId: advertiser }]),
    headers: new Headers()
  }
}) as unknown as RequestClient

async function heapAfterGc(): Promise<number> {
  for (let round = 0; round < 4; round++) {
    gc()
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return process.memoryUsage().heapUsed
}

it(`keeps ${CACHED_TENANTS_MAX} tenants of one list each within 20 MB of heap`, async () => {
  const before = await heapAfterGc()
  for (let t = 0; t < CACHED_TENANTS_MAX; t++) {
    expect(await new CriteoClient(inMemoryCriteo, tenant(t)).listId('vip')).toBe(`${1000 + t}1`)
  }
  const grown = (await heapAfterGc()) - before
  // Each tenant keeps one list: its caches must cost what they hold, not what they could hold (1,000 lists).
  // Measured: 6.4 MB; 71 MB when each cache allocated 1,000 slots up front.
  expect(grown).toBeLessThan(20_000_000)
}, 60_000)
