import { execFileSync } from 'child_process'
import { createHash } from 'crypto'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'
import { defaultValues } from '@segment/actions-core'
import type { DestinationDefinition } from '@segment/actions-core'
import type { Contender } from './side-by-side'

/**
 * Segment's own Criteo Audiences destination, as published in `@segment/action-destinations` (MIT), for the
 * side-by-side. Only its `criteo-audiences` folder is used, which needs nothing but actions-core: it is taken from the
 * package's tarball (`npm pack`, about 1.5 MB) instead of installing the package, which would bring in hundreds of
 * dependencies of Segment's other destinations. Kept in node_modules/.cache, it is fetched once per install, and
 * resolves `@segment/actions-core` to this project's own copy: both sides run on the same actions-core.
 */
export const SEGMENT_PACKAGE = '@segment/action-destinations'
export const SEGMENT_VERSION = '3.497.0'
/** The registry's `dist.integrity` of that tarball: what is measured is exactly what Segment published. */
export const SEGMENT_INTEGRITY =
  'sha512-b9DztTrR1XrfBu/0UyUgTXNfv7s5gpjBPO/w7C8aW6IHsSMSMte7wNdVHzGsujJ4P43g7cKsWb5zuV2BdVn/UA=='

const FOLDER = 'package/dist/destinations/criteo-audiences'
export const SEGMENT_CACHE = join(
  __dirname,
  '..',
  'node_modules',
  '.cache',
  `segment-action-destinations-${SEGMENT_VERSION}`
)

/** Throws unless `tarball` is the file whose integrity is `expected` (an npm `sha512-…` string). */
export function verifyTarball(tarball: string, expected: string): void {
  const actual = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`
  if (actual !== expected) {
    throw new Error(`${tarball} is not ${SEGMENT_PACKAGE}@${SEGMENT_VERSION} as published: its integrity is ${actual}.`)
  }
}

/** `npm`, as the running npm invoked this process (npm run bench), or from the PATH. */
function npm(args: string[], cwd: string): string {
  const cli = process.env.npm_execpath
  const [command, prefix] = cli && cli.endsWith('.js') ? [process.execPath, [cli]] : ['npm', []]
  return execFileSync(command, [...prefix, ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 180_000
  })
}

/** The folder holding Segment's `criteo-audiences`, fetched and checked first when it is not there yet. */
export function segmentCriteoFolder(cache = SEGMENT_CACHE): string {
  const folder = join(cache, 'criteo-audiences')
  if (existsSync(join(folder, 'index.js'))) return folder
  const work = mkdtempSync(join(tmpdir(), 'segment-criteo-'))
  try {
    let packed: Array<{ filename: string }>
    try {
      packed = JSON.parse(
        npm(['pack', `${SEGMENT_PACKAGE}@${SEGMENT_VERSION}`, '--json', '--pack-destination', work], work)
      )
    } catch (error) {
      const { stderr } = error as { stderr?: string | Buffer }
      const detail = String(stderr ?? (error as Error).message)
        .trim()
        .split('\n')
        .filter((line) => /err/i.test(line))
        .slice(0, 3)
        .join(' ')
      throw new Error(
        `Could not fetch ${SEGMENT_PACKAGE}@${SEGMENT_VERSION} with npm pack (${detail || 'no reason given'}). ` +
          'The side-by-side needs the npm registry once; the package is then kept in node_modules/.cache.',
        { cause: error }
      )
    }
    const tarball = join(work, packed[0].filename)
    verifyTarball(tarball, SEGMENT_INTEGRITY)
    execFileSync('tar', ['-xzf', tarball, '-C', work, FOLDER])
    mkdirSync(cache, { recursive: true })
    cpSync(join(work, FOLDER), folder, { recursive: true })
    return folder
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

/**
 * Segment's destination as an admin who connects it to Engage would set it up: the add action with its default
 * mapping, except that emails are hashed (its default sends them in plain text; this destination hashes by default,
 * so both do the same work).
 */
export function segmentContender(credentials: Record<string, string>, folder = segmentCriteoFolder()): Contender {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const definition = (require(folder) as { default: DestinationDefinition<never> }).default
  const add = definition.actions.addUserToAudience
  if (!add) throw new Error(`${folder} has no addUserToAudience action: not the destination this bench compares with.`)
  return {
    label: `Segment's criteo-audiences (${SEGMENT_PACKAGE} ${SEGMENT_VERSION})`,
    definition,
    settings: {
      ...credentials,
      subscription: {
        subscribe: add.defaultSubscription,
        partnerAction: 'addUserToAudience',
        mapping: { ...defaultValues(add.fields), hash_emails: true }
      }
    },
    sourceDir: `/segment-action-destinations-${SEGMENT_VERSION}/`
  }
}
