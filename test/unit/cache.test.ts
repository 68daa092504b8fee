import { ExpiringCache, InFlight } from '../../src/destinations/criteo-audiences/criteo/cache'

describe('ExpiringCache', () => {
  it('forgets an entry once its time is up', () => {
    let now = 0
    const cache = new ExpiringCache<string>(10, () => now)
    cache.set('k', 'v', 1000)
    now = 999
    expect(cache.get('k')).toBe('v')
    now = 1000
    expect(cache.get('k')).toBeUndefined()
  })

  it('drops the oldest entry beyond its size', () => {
    const cache = new ExpiringCache<number>(2)
    cache.set('a', 1, 1e6)
    cache.set('b', 2, 1e6)
    cache.set('c', 3, 1e6)
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([undefined, 2, 3])
  })

  it('deletes only while the entry still holds the given value', () => {
    const cache = new ExpiringCache<string>(10)
    cache.set('k', 'new', 1e6)
    cache.deleteIf('k', 'old')
    expect(cache.get('k')).toBe('new')
    cache.deleteIf('k', 'new')
    expect(cache.get('k')).toBeUndefined()
  })
})

describe('InFlight', () => {
  it('runs one creation per key at a time and forgets it when done', async () => {
    const inFlight = new InFlight<number>()
    let calls = 0
    const create = async () => ++calls
    const [a, b] = await Promise.all([inFlight.run('k', create), inFlight.run('k', create)])
    expect([a, b, calls]).toEqual([1, 1, 1])
    expect(await inFlight.run('k', create)).toBe(2)
  })

  it('forgets a failed creation so the next caller tries again', async () => {
    const inFlight = new InFlight<number>()
    await expect(inFlight.run('k', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect(await inFlight.run('k', async () => 7)).toBe(7)
  })
})
