import { SANDBOX_SETTINGS } from '../../src/cli/sandbox-target'
import { generateEngageStream } from '../../src/cli/generate'
import { runSync } from '../../src/cli/runner'
import { TokenStore } from '../../src/cli/token-store'
import { sandboxPerTest } from '../sandbox-session'
import { expectedAudiences, expectListsExactly } from './expected'

const session = sandboxPerTest()

describe('npm start keeps its access token as Segment does', () => {
  it('gets one token for all its batches, keeps it, and one more when Criteo stops taking it', async () => {
    const events = generateEngageStream({ entered: 2000, exited: 400, seed: 11 })
    const tokens = new TokenStore()
    let revokedAt: { access_token?: string } | undefined

    const result = await runSync({
      events,
      settings: SANDBOX_SETTINGS,
      batchSize: 100,
      concurrency: 4,
      tokens,
      onProgress: ({ done }) => {
        if (revokedAt !== undefined || done < 1000) return
        // Every token Criteo issued so far stops working, with batches in flight.
        revokedAt = tokens.oauth()
        session.sandbox.revokeTokens()
      }
    })

    expect(result.errors).toEqual({})
    expect(result.audiences).toEqual(expectedAudiences(events, expectListsExactly(session.sandbox, events)))
    // The first batch asked for the token the run kept; after the revocation, one more was fetched and kept.
    expect(session.sandbox.requestCounts().token).toBe(2)
    expect(revokedAt).toEqual({ access_token: expect.any(String) })
    expect(tokens.oauth()).toEqual({ access_token: expect.any(String) })
    expect(tokens.oauth()).not.toEqual(revokedAt)
    expect(tokens.refreshes).toBeGreaterThanOrEqual(2)
  }, 30_000)
})
