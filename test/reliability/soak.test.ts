import { generateSoakStream, runSoak, soakPassed } from '../../src/cli/soak'

describe('the soak, short version', () => {
  it('ends with every list exact despite 10% of requests failing and a quarter of answers varying as the contract allows', async () => {
    const result = await runSoak(
      { events: 4000, audiences: 5, users: 600, waves: 6, seed: 5 },
      { faultRate: 0.1, batchSize: 100 }
    )
    expect(result.mismatches).toEqual([])
    expect(result.duplicateLists).toEqual([])
    expect(result.unexpectedLists).toEqual([])
    expect(result.sync.audiences.map((a) => a.errored)).toEqual([0, 0, 0, 0, 0])
    expect(result.requests.faulted).toBeGreaterThan(5)
    expect(result.requests.refusedByContract).toBe(0)
    expect(Object.keys(result.variants)).toEqual(expect.arrayContaining(['warning', 'nullAmendment', 'nullErrorText']))
    expect(result.sync.retries).toBeGreaterThan(0)
    expect(result.sync.windows).toBeGreaterThanOrEqual(10)
    expect(result.sync.superseded).toBeGreaterThan(0)
    expect(soakPassed(result)).toBe(true)
  }, 60_000)

  it('ends with every list exact when every answer varies as the contract allows', async () => {
    const result = await runSoak(
      { events: 3000, audiences: 5, users: 500, waves: 6, seed: 3 },
      { faultRate: 0.05, variantRate: 1, batchSize: 100 }
    )
    expect(result.variants).toEqual({
      warning: expect.any(Number),
      nullAmendment: expect.any(Number),
      nullSearch: expect.any(Number),
      nameTakenOnCreate: expect.any(Number),
      readOnlyList: expect.any(Number),
      nullErrorText: expect.any(Number)
    })
    expect(result.sync.audiences.map((a) => a.errored)).toEqual([0, 0, 0, 0, 0])
    expect(soakPassed(result)).toBe(true)
  }, 60_000)

  it('interleaves entries and exits of the same users', () => {
    const events = generateSoakStream({ events: 2000, audiences: 5, users: 300, waves: 6, seed: 5 })
    const byUser = new Map<string, string[]>()
    for (const e of events)
      byUser.set(`${e.userId}/${(e.properties as { audience_key: string }).audience_key}`, [
        ...(byUser.get(`${e.userId}/${(e.properties as { audience_key: string }).audience_key}`) ?? []),
        e.event as string
      ])
    const reentered = [...byUser.values()].filter((seq) => seq.join(',').includes('Audience Exited,Audience Entered'))
    expect(reentered.length).toBeGreaterThan(10)
  })
})
