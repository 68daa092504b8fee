import { startSandbox, Sandbox, FaultPlan } from '../../src/sandbox'
import { pointDestinationAt, SANDBOX_SETTINGS } from '../../src/cli/sandbox-target'
import { resetCriteoCaches } from '../../src/destinations/criteo-audiences/criteo/client'
import { audienceEvent, hash, runBatch } from '../helpers'

const settings = SANDBOX_SETTINGS

let sandbox: Sandbox
let restoreTarget: () => void

async function withFaults(faults: FaultPlan) {
  resetCriteoCaches()
  sandbox = await startSandbox({ faults })
  restoreTarget = pointDestinationAt(sandbox.url, 300)
}

afterEach(async () => {
  await sandbox.close()
  restoreTarget()
})

const ann = () => audienceEvent({ email: 'ann@example.com' })
const members = () => sandbox.lists().flatMap((list) => sandbox.members(list.id))

describe('each fault Criteo can throw at an amendment', () => {
  it.each([
    ['http500', 500],
    ['http502', 502],
    ['http503', 503]
  ] as const)('%s is reported as retryable %i, and the retry syncs the user', async (kind, status) => {
    await withFaults({ script: [{ kind, endpoint: 'amend' }] })
    const [first] = await runBatch([ann()], { settings })
    expect(first).toMatchObject({ status, errortype: 'RETRYABLE_ERROR' })
    expect(await runBatch([ann()], { settings })).toMatchObject([{ status: 200 }])
    expect(members()).toEqual([hash('ann@example.com')])
  })

  it('a 429 burst is retryable and says when the window resets', async () => {
    await withFaults({ script: [{ kind: 'rateLimit', endpoint: 'amend' }] })
    const [first] = await runBatch([ann()], { settings })
    expect(first).toMatchObject({
      status: 429,
      errortype: 'RETRYABLE_ERROR',
      body: { ratelimit_reset: expect.any(Number) }
    })
    expect((first.body as { ratelimit_reset: number }).ratelimit_reset % 60).toBe(0)
  })

  it.each(['hang', 'reset'] as const)('a %s turns into a retryable timeout within the bound', async (kind) => {
    await withFaults({ script: [{ kind, endpoint: 'amend' }] })
    const started = Date.now()
    const [first] = await runBatch([ann()], { settings })
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(first).toMatchObject({
      status: 504,
      errortype: 'RETRYABLE_ERROR',
      errormessage:
        'Adding users to Criteo list 100001 ("first_time_shopper") failed: Criteo did not answer within 0.3 s.'
    })
    expect(await runBatch([ann()], { settings })).toMatchObject([{ status: 200 }])
    expect(members()).toEqual([hash('ann@example.com')])
  })

  it('a token revoked early is replaced without the event noticing', async () => {
    await withFaults({ script: [{ kind: 'revokeToken', endpoint: 'amend' }] })
    expect(await runBatch([ann()], { settings })).toMatchObject([{ status: 200 }])
    expect(sandbox.requestCounts().token).toBe(2)
    expect(members()).toEqual([hash('ann@example.com')])
  })

  it('a list deleted between two batches is recreated and receives the user', async () => {
    await withFaults({})
    expect(await runBatch([ann()], { settings })).toMatchObject([{ status: 200 }])
    sandbox.setFaults({ script: [{ kind: 'deleteList', endpoint: 'amend' }] })
    expect(await runBatch([audienceEvent({ email: 'bob@example.com' })], { settings })).toMatchObject([{ status: 200 }])
    const lists = sandbox.lists()
    expect(lists.map((l) => l.name)).toEqual(['first_time_shopper'])
    expect(sandbox.members(lists[0].id)).toEqual([hash('bob@example.com')])
  })

  it('a create that succeeds but answers 500 never leads to a second list', async () => {
    await withFaults({ script: [{ kind: 'createThen500', endpoint: 'create' }] })
    const [first] = await runBatch([ann()], { settings })
    expect(first).toMatchObject({ status: 500, errortype: 'RETRYABLE_ERROR' })
    expect(await runBatch([ann()], { settings })).toMatchObject([{ status: 200 }])
    expect(sandbox.lists().map((l) => l.name)).toEqual(['first_time_shopper'])
    expect(sandbox.requestCounts().create).toBe(1)
    expect(members()).toEqual([hash('ann@example.com')])
  })

  it('a slow answer within the timeout is just slow', async () => {
    await withFaults({ script: [{ kind: 'slow', endpoint: 'amend' }], slowMs: 100 })
    expect(await runBatch([ann()], { settings })).toMatchObject([{ status: 200 }])
  })
})
