import { SANDBOX_SETTINGS } from '../../src/cli/sandbox-target'
import { sandboxPerTest } from '../sandbox-session'
import { engageEvent } from '../../src/cli/generate'
import { hash, runBatch } from '../helpers'

const settings = SANDBOX_SETTINGS

const session = sandboxPerTest()

/** Creates lists straight through the sandbox's API, as if an admin had made them in Criteo before. */
async function createExisting(names: string[]) {
  const token = await fetch(`${session.sandbox.url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: settings.client_id,
      client_secret: settings.client_secret
    })
  }).then((r) => r.json() as Promise<{ access_token: string }>)
  for (const name of names) {
    const response = await fetch(`${session.sandbox.url}/2026-07/marketing-solutions/audience-segments/create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        data: [{ attributes: { advertiserId: settings.advertiser_id, name, description: name, contactList: {} } }]
      })
    })
    expect(response.status).toBe(200)
  }
}

describe('twenty batches at once for ten audiences, half of them new', () => {
  it('creates each new list exactly once and loses no user', async () => {
    const audiences = Array.from({ length: 10 }, (_, i) => `audience_${i}`)
    await createExisting(audiences.slice(0, 5))
    const countsBefore = session.sandbox.requestCounts()

    const batches = Array.from({ length: 20 }, (_, b) =>
      Array.from({ length: 100 }, (_, i) => {
        const n = b * 100 + i
        return engageEvent(`u${n}`, audiences[n % 10], true, `user${n}@example.com`, n)
      })
    )
    const results = await Promise.all(batches.map((events) => runBatch(events, { settings })))

    expect(results.flat().filter((r) => r.status !== 200)).toEqual([])
    const lists = session.sandbox.lists(settings.advertiser_id)
    expect(lists.map((l) => l.name).sort()).toEqual(audiences)
    const counts = session.sandbox.requestCounts()
    expect(counts.create - countsBefore.create).toBe(5)
    expect(counts.token - countsBefore.token).toBe(1)
    // One search serves every batch: the others wait for it instead of paging again.
    expect(counts.search - countsBefore.search).toBe(1)
    for (const list of lists) {
      const index = audiences.indexOf(list.name)
      const expected = Array.from({ length: 2000 }, (_, n) => n)
        .filter((n) => n % 10 === index)
        .map((n) => hash(`user${n}@example.com`))
        .sort()
      expect(session.sandbox.members(list.id)).toEqual(expected)
    }
  }, 30_000)
})
