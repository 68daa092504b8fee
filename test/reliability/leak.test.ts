import { setFlagsFromString } from 'v8'
import { runInNewContext } from 'vm'
import { Destination } from '@segment/actions-core'
import definition from '../../src/destinations/criteo-audiences'
import { startSandbox } from '../../src/sandbox'
import { pointDestinationAt, SANDBOX_SETTINGS } from '../../src/cli/sandbox-target'
import { presetFor } from '../../src/cli/runner'
import { resetCriteoCaches } from '../../src/destinations/criteo-audiences/criteo/client'
import { audienceEvent } from '../helpers'

// A garbage collector to call, without starting jest with --expose-gc.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

async function heapAfterGc(): Promise<number> {
  for (let round = 0; round < 4; round++) {
    gc()
    // Finalizers and weak references settle between collections.
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return process.memoryUsage().heapUsed
}

const RESETS = 5_000

it(`keeps the heap flat across ${RESETS} connections cut mid-response`, async () => {
  resetCriteoCaches()
  const sandbox = await startSandbox({ rateLimitPerMinute: false })
  // Each cut-off response is abandoned at this deadline: long enough for the sandbox to answer 250 calls at once on a
  // busy machine, short enough for the test to take seconds.
  const restore = pointDestinationAt(sandbox.url, 500)
  const preset = presetFor('addUserToAudience')
  // A Destination per batch, as Segment's workers make them.
  const batch = (i: number) =>
    new Destination(definition).onBatch([audienceEvent({ email: `user${i}@example.com`, userId: `u${i}` })], {
      ...SANDBOX_SETTINGS,
      subscription: { subscribe: preset.subscribe, partnerAction: 'addUserToAudience', mapping: preset.mapping }
    } as Parameters<Destination['onBatch']>[1])
  const resetsAfter = async (resets: number, first: number) => {
    for (let i = first; sandbox.faultCounts().reset < resets; i += 250) {
      await Promise.all(Array.from({ length: 250 }, (_, k) => batch(i + k)))
    }
  }
  try {
    // Token, list and every code path warm before the first measure, the reset path included.
    for (let i = 0; i < 100; i++) await batch(i)
    sandbox.setFaults({ rate: 1, kinds: ['reset'], endpoints: ['amend'] })
    await resetsAfter(250, 1_000)
    const before = await heapAfterGc()
    const warm = sandbox.faultCounts().reset

    await resetsAfter(warm + RESETS, 10_000)
    const after = await heapAfterGc()

    expect(sandbox.faultCounts().reset - warm).toBeGreaterThanOrEqual(RESETS)
    // Each cut-off response used to keep about 19 KB for good: 5,000 of them, over 90 MB.
    expect((after - before) / 1e6).toBeLessThan(5)
  } finally {
    restore()
    await sandbox.close()
  }
}, 120_000)
