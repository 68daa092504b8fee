import { startSandbox } from '../src/sandbox'
import type { Sandbox, SandboxOptions } from '../src/sandbox'
import { pointDestinationAt } from '../src/cli/sandbox-target'
import { resetCriteoCaches } from '../src/destinations/criteo-audiences/criteo/client'

/**
 * A fresh sandbox for every test of the calling file, with the destination pointed at it and its caches empty;
 * closed, and the destination's target put back, after each test. `restart` swaps it for one with other options.
 */
export function sandboxPerTest() {
  let current: Sandbox | undefined
  let restoreTarget = () => {}

  const start = async (options?: SandboxOptions) => {
    resetCriteoCaches()
    current = await startSandbox(options)
    restoreTarget = pointDestinationAt(current.url)
  }
  const stop = async () => {
    await current?.close()
    current = undefined
    restoreTarget()
    restoreTarget = () => {}
  }

  beforeEach(() => start())
  afterEach(stop)

  return {
    get sandbox(): Sandbox {
      if (!current) throw new Error('No sandbox: sandboxPerTest() starts one for each test only.')
      return current
    },
    async restart(options: SandboxOptions): Promise<void> {
      await stop()
      await start(options)
    }
  }
}
