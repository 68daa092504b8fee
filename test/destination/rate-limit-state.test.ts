import { lastRateLimit, resetCriteoCaches } from '../../src/destinations/criteo-audiences/criteo/client'
import { amendmentOk, audienceEvent, criteo, runBatch, SEGMENTS, searchPage, settings, tokenOk } from '../helpers'

beforeEach(() => resetCriteoCaches())

const window = (remaining: number, reset: number) => ({
  'x-ratelimit-limit': '250',
  'x-ratelimit-remaining': String(remaining),
  'x-ratelimit-reset': String(reset)
})

describe("what Criteo's rate-limit headers said last", () => {
  it('keeps the lowest count left in the current window, per app, for a host that paces its batches', async () => {
    const scope = criteo()
    tokenOk(scope)
    scope
      .post(`${SEGMENTS}/search`)
      .query(true)
      .reply(200, searchPage([{ id: '101', name: 'first_time_shopper' }]), window(9, 1_800_000_000))
    scope.patch(`${SEGMENTS}/101/contact-list`).reply(200, amendmentOk('101', 'add', 1), window(8, 1_800_000_000))
    await runBatch([audienceEvent({ email: 'ann@example.com' })])
    expect(lastRateLimit(settings)).toEqual({ remaining: 8, resetAt: 1_800_000_000_000 })
    expect(lastRateLimit({ ...settings, client_secret: 'another-secret' })).toBeUndefined()

    // A late answer from the same window with more left does not undo what a newer one said; a new window does.
    scope.patch(`${SEGMENTS}/101/contact-list`).reply(200, amendmentOk('101', 'add', 1), window(30, 1_800_000_000))
    await runBatch([audienceEvent({ email: 'bob@example.com' })])
    expect(lastRateLimit(settings)).toEqual({ remaining: 8, resetAt: 1_800_000_000_000 })
    scope.patch(`${SEGMENTS}/101/contact-list`).reply(200, amendmentOk('101', 'add', 1), window(249, 1_800_000_060))
    await runBatch([audienceEvent({ email: 'cy@example.com' })])
    expect(lastRateLimit(settings)).toEqual({ remaining: 249, resetAt: 1_800_000_060_000 })
    expect(scope.isDone()).toBe(true)
  })

  it('records a 429 as nothing left until the reset', async () => {
    const scope = criteo()
    tokenOk(scope)
    scope
      .post(`${SEGMENTS}/search`)
      .query(true)
      .reply(200, searchPage([{ id: '101', name: 'first_time_shopper' }]))
    scope
      .patch(`${SEGMENTS}/101/contact-list`)
      .reply(429, { errors: [{ code: 'rate-limited' }] }, window(0, 1_800_000_000))
    const [result] = await runBatch([audienceEvent({ email: 'ann@example.com' })])
    expect(result.status).toBe(429)
    expect(lastRateLimit(settings)).toEqual({ remaining: 0, resetAt: 1_800_000_000_000 })
  })

  it('knows nothing when Criteo sends no such headers', async () => {
    const scope = criteo()
    tokenOk(scope)
    scope
      .post(`${SEGMENTS}/search`)
      .query(true)
      .reply(200, searchPage([{ id: '101', name: 'first_time_shopper' }]))
    scope.patch(`${SEGMENTS}/101/contact-list`).reply(200, amendmentOk('101', 'add', 1))
    await runBatch([audienceEvent({ email: 'ann@example.com' })])
    expect(lastRateLimit(settings)).toBeUndefined()
  })
})
