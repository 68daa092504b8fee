import { startSandbox, Sandbox, FAULT_KINDS } from '../../src/sandbox'
import { pointDestinationAt } from '../../src/cli/sandbox-target'
import { resetCriteoCaches } from '../../src/destinations/criteo-audiences/criteo/client'
import { engageEvent } from '../../src/cli/generate'
import { runBatch } from '../helpers'

const SECRET = 'tenant-secret-do-not-leak'
const tenant = { clientId: 'leak-check-client', clientSecret: SECRET, advertiserIds: ['777'] }
const settings = { client_id: tenant.clientId, client_secret: SECRET, advertiser_id: '777' }

let sandbox: Sandbox
let restoreTarget: () => void

afterEach(async () => {
  await sandbox.close()
  jest.restoreAllMocks()
  restoreTarget()
})

describe('secrets and personal data', () => {
  it('never show up in what the destination writes or in any error message, whatever fails', async () => {
    const written: string[] = []
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      jest
        .spyOn(console, method)
        .mockImplementation((...args: unknown[]) => void written.push(args.map(String).join(' ')))
    }
    const serverLog: string[] = []
    sandbox = await startSandbox({
      tenants: [tenant],
      log: (line) => serverLog.push(line),
      faults: { rate: 0.5, kinds: [...FAULT_KINDS], seed: 3, slowMs: 20 }
    })
    restoreTarget = pointDestinationAt(sandbox.url, 200)
    resetCriteoCaches()

    const emails = Array.from({ length: 30 }, (_, i) => `person${i}@private.example.com`)
    const messages: string[] = []
    // A batch either reports each event, or fails whole (a token refresh actions-core makes can fail): both are what
    // Segment shows.
    const collect = (run: Promise<Array<Record<string, unknown>>>) =>
      run.then(
        (result) => {
          for (const r of result) if (typeof r.errormessage === 'string') messages.push(r.errormessage)
        },
        (error: Error) => void messages.push(error.message)
      )
    const batch = (entered: boolean, offset: number) =>
      emails.map((email, i) =>
        engageEvent(`u${i}`, `aud_${(i + offset) % 3}`, entered, i % 7 === 0 ? 'broken-address' : email, i)
      )

    for (let round = 0; round < 12; round++) {
      await collect(
        runBatch(batch(round % 2 === 0, round), {
          settings,
          action: round % 2 === 0 ? 'addUserToAudience' : 'removeUserFromAudience'
        })
      )
    }
    // And with a wrong secret: the refusal must not echo it.
    resetCriteoCaches()
    sandbox.setFaults(undefined)
    await collect(runBatch(batch(true, 0), { settings: { ...settings, client_secret: `${SECRET}-wrong` } }))

    const failures = new Set(messages)
    expect(failures.size).toBeGreaterThan(5) // the run really failed in many ways
    expect(messages.some((m) => m.startsWith('Criteo refused the Client ID and Client Secret'))).toBe(true)
    const everything = [...messages, ...written, ...serverLog]
    for (const text of everything) {
      expect(text).not.toContain(SECRET)
      expect(text).not.toMatch(/@/) // no email address, plain or partial
      expect(text).not.toMatch(/[A-Za-z0-9_-]{40,}/) // no token, no hashed identifier
      expect(text.toLowerCase()).not.toContain('bearer')
    }
  }, 30_000)
})
