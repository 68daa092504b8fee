import { spawnSync } from 'child_process'
import { soakOptions, soakPassed } from '../../src/cli/soak'
import type { SoakResult } from '../../src/cli/soak'

describe('npm run soak checks its options as npm start does', () => {
  it.each([
    [['--events', 'abc'], '--events must be a whole number of 1 or more, not "abc".'],
    [['--events', '0'], '--events must be a whole number of 1 or more, not "0".'],
    [['--events', '-5'], '--events must be a whole number of 1 or more, not "-5".'],
    [['--seed', '1.5'], '--seed must be a whole number, not "1.5".'],
    [['--seed', '-1'], '--seed must be a whole number, not "-1".'],
    [['--fault-rate', '2'], '--fault-rate takes a share from 0 to 1, not "2".'],
    [['--variant-rate', ''], '--variant-rate takes a share from 0 to 1, not "".'],
    [['--bogus'], "Unknown option '--bogus'"]
  ])('%j: refused, saying why', (argv, message) => {
    expect(() => soakOptions(argv)).toThrow(message)
  })

  it('takes the defaults, and numbers as given, 0 included where it makes sense', () => {
    expect(soakOptions([])).toEqual({ events: 100_000, seed: 11, faultRate: 0.1, variantRate: 0.25 })
    expect(soakOptions(['--events', '500', '--seed', '0', '--fault-rate', '0', '--variant-rate', '1'])).toEqual({
      events: 500,
      seed: 0,
      faultRate: 0,
      variantRate: 1
    })
  })

  it('as a process: --events abc exits 2 with that line alone, before any work', () => {
    const run = spawnSync(process.execPath, ['--require', 'tsx/cjs', 'src/cli/soak.ts', '--events', 'abc'], {
      encoding: 'utf8'
    })
    expect([run.status, run.stdout, run.stderr]).toEqual([
      2,
      '',
      '--events must be a whole number of 1 or more, not "abc".\n'
    ])
  }, 30_000)

  it('a soak of no events is not a pass: it proves nothing', () => {
    const empty: SoakResult = {
      events: 0,
      sync: { audiences: [] } as unknown as SoakResult['sync'],
      requests: {},
      faults: {},
      variants: {},
      mismatches: [],
      duplicateLists: [],
      unexpectedLists: []
    }
    expect(soakPassed(empty)).toBe(false)
    expect(soakPassed({ ...empty, events: 1 })).toBe(true)
  })
})
