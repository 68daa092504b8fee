import { runCli } from '../../src/cli/main'
import { capturedStreams } from './streams'

const FROM_REPO = { npm_lifecycle_event: 'start', npm_package_name: 'criteo-audiences-actions' }

describe('the usage text names the command as it was started', () => {
  it.each([
    ['npm start in this repo', FROM_REPO, 'Usage: npm start -- [options]'],
    ['the installed bin', {}, 'Usage: criteo-audiences-sync [options]'],
    [
      "a host's own npm start running the bin",
      { ...FROM_REPO, npm_package_name: 'host' },
      'Usage: criteo-audiences-sync [options]'
    ]
  ])('%s: --help', async (_, env, firstLine) => {
    const streams = capturedStreams()
    expect(await runCli(['--help'], { ...streams, env })).toBe(0)
    expect(streams.out().split('\n')[0]).toBe(firstLine)
  })

  it('after a usage error too', async () => {
    const streams = capturedStreams()
    expect(await runCli(['--seed', 'x'], { ...streams, env: {} })).toBe(2)
    expect(streams.err().split('\n').slice(0, 3)).toEqual([
      '--seed must be a whole number, not "x".',
      '',
      'Usage: criteo-audiences-sync [options]'
    ])
  })
})
