import { startSandbox } from '../../src/sandbox'
import { sandboxes, tokenFor } from './helpers'

const start = sandboxes()

describe('sandbox lifecycle', () => {
  it('counts nothing before the first call, under every kind', async () => {
    const sandbox = await start()

    expect(sandbox.requestCounts()).toEqual({
      token: 0,
      search: 0,
      create: 0,
      amend: 0,
      wipe: 0,
      statistics: 0,
      delete: 0,
      rateLimited: 0,
      unauthorized: 0,
      faulted: 0,
      refusedByContract: 0
    })
    expect(sandbox.faultCounts()).toEqual({
      http500: 0,
      http502: 0,
      http503: 0,
      rateLimit: 0,
      hang: 0,
      reset: 0,
      revokeToken: 0,
      deleteList: 0,
      createThen500: 0,
      slow: 0
    })
    expect(sandbox.variantCounts()).toEqual({
      warning: 0,
      nullAmendment: 0,
      nullSearch: 0,
      nameTakenOnCreate: 0,
      readOnlyList: 0,
      nullErrorText: 0
    })
  })

  it('closes despite a kept-alive client connection, can be closed twice, and then refuses connections', async () => {
    const sandbox = await startSandbox()
    await tokenFor(sandbox)

    await sandbox.close()
    await sandbox.close()

    await expect(fetch(`${sandbox.url}/oauth2/token`, { method: 'POST' })).rejects.toThrow('fetch failed')
  })

  it('gives each sandbox its own port and state', async () => {
    const one = await start()
    const two = await start()

    await tokenFor(one)

    expect(one.url).not.toBe(two.url)
    expect(two.requestCounts().token).toBe(0)
  })
})
