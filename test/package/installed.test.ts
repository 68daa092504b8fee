/**
 * The package as users get it: packed by `npm pack` (which builds it through `prepare`), installed from the tarball
 * into scratch projects in a temporary folder, and used there by name, the way a host uses it. Host shapes: one with
 * no actions-core of its own (npm installs the peer dependency), one that already has its own, older actions-core
 * under a range that allows the supported versions (npm moves it up, and the host and the destination share that one
 * copy), one pinned to a version outside the peer range (npm refuses the install rather than leave two copies), and
 * one that installs the package from git (this repo's HEAD commit: what is not committed is not in it).
 * Nothing here imports the repo's sources at run time: what runs is what was installed.
 */
import { execFileSync, spawnSync } from 'child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'
import { generateEngageStream } from '../../src/cli/generate'
import { expectedTallies } from '../cli/expected'
import { hash } from '../helpers'

const ROOT = join(__dirname, '..', '..')
const TSC = require.resolve('typescript/bin/tsc')
/** A host's own actions-core, older than the peer range: it lacks the audienceMembership the actions read. */
const OLD_CORE_VERSION = '3.158.0'
const PEER_RANGE = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest).peerDependencies[
  '@segment/actions-core'
]

interface Manifest {
  peerDependencies: Record<string, string>
}
/** Installing and building take tens of seconds; on a busy 2-core machine, several times that. */
const SETUP_TIMEOUT_MS = 600_000
const STEP_TIMEOUT_MS = 120_000

/** The environment of every command run here: npm's own variables point at this repo and must not leak into hosts. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(npm_|INIT_CWD$|CRITEO_)/i.test(name)) env[name] = value
  }
  return { ...env, ...extra }
}

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, { cwd, env: cleanEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

const npm = (args: string[], cwd: string) => run('npm', [...args, '--prefer-offline', '--no-audit', '--no-fund'], cwd)

interface Packed {
  tarball: string
  size: number
  files: string[]
}

/** `npm pack` of this repo, from a tree with no dist/: only `prepare` can put the build in the tarball. */
function pack(into: string): Packed {
  rmSync(join(ROOT, 'dist'), { recursive: true, force: true })
  const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', into], ROOT)) as Array<{
    filename: string
    size: number
    files: Array<{ path: string }>
  }>
  return { tarball: join(into, packed.filename), size: packed.size, files: packed.files.map((f) => f.path).sort() }
}

interface Host {
  dir: string
  /** Versions of every copy of a package installed anywhere in the host's node_modules. */
  copies(name: string): string[]
}

function host(root: string, name: string, spec: string, ownCore?: string): Host {
  const dir = join(root, name)
  mkdirSync(dir)
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }))
  // As `npm install @segment/actions-core@x` saves it: `^x`.
  if (ownCore) npm(['install', `@segment/actions-core@${ownCore}`], dir)
  npm(['install', spec], dir)
  return {
    dir,
    copies: (pkg) =>
      readdirSync(join(dir, 'node_modules'), { recursive: true, encoding: 'utf8' })
        .filter((path) => path.endsWith(join(pkg, 'package.json')) && !path.includes(join(pkg, 'node_modules')))
        .map(
          (path) => (JSON.parse(readFileSync(join(dir, 'node_modules', path), 'utf8')) as { version: string }).version
        )
        .sort()
  }
}

/**
 * Compiles the typed consumer in the host with strict TypeScript (any type error fails), and runs it. With node16
 * resolution (the exports map) the installed .d.ts files are checked too; with node10 (typesVersions) they are
 * skipped, which saves ten seconds and checks nothing new.
 */
function runConsumer(dir: string, resolution: 'node10' | 'node16') {
  copyFileSync(join(__dirname, 'consumer', 'check.ts'), join(dir, 'check.ts'))
  const module = resolution === 'node16' ? 'node16' : 'commonjs'
  execFileSync(
    process.execPath,
    [
      TSC,
      ...['--strict', '--esModuleInterop', '--target', 'es2022', '--module', module, '--moduleResolution', resolution],
      ...['--skipLibCheck', String(resolution === 'node10')],
      ...['--types', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types'), 'check.ts']
    ],
    { cwd: dir, env: cleanEnv(), encoding: 'utf8' }
  )
  return JSON.parse(run(process.execPath, ['check.js'], dir)) as {
    authentication: string
    wrongSecret: string
    results: unknown
    lists: Array<{ id: string; name: string }>
    members: Record<string, string[]>
    requests: Record<string, number>
  }
}

/** The README's runnable example: the first ```js block after its marker. */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const [, code] = /<!-- installed-example -->\s*```js\n([\s\S]*?)```/.exec(readme) ?? []
  if (!code) throw new Error('README.md has no ```js block after <!-- installed-example -->')
  return code
}

function runBin(dir: string, args: string[]) {
  const result = spawnSync(join(dir, 'node_modules', '.bin', 'criteo-audiences-sync'), args, {
    cwd: dir,
    env: cleanEnv(),
    encoding: 'utf8'
  })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

/** `^3.N.0` as the peer range says it: same major, at least that minor. */
function inPeerRange(version: string): boolean {
  const [, major, minor] = /^\^(\d+)\.(\d+)\.0$/.exec(PEER_RANGE) ?? []
  const [have, haveMinor] = version.split('.').map(Number)
  return have === Number(major) && haveMinor >= Number(minor)
}

const MISSING = {
  status: 400,
  errortype: 'PAYLOAD_VALIDATION_FAILED',
  errormessage:
    'Missing identifier: this event has no email address, mobile advertising id, identityLink or GUM id to sync.',
  errorreporter: 'INTEGRATIONS'
}
const MALFORMED = {
  ...MISSING,
  errormessage:
    'Not an email address: the Email field must hold an email address or its SHA-256 hash (64 hexadecimal characters).'
}

let scratch: string
let packed: Packed
const hosts: Record<'fresh' | 'ownCore' | 'git', Host> = {} as never

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'criteo-audiences-package-'))
  packed = pack(scratch)
  hosts.fresh = host(scratch, 'host-without-actions-core', packed.tarball)
  hosts.ownCore = host(scratch, 'host-with-its-own-actions-core', packed.tarball, OLD_CORE_VERSION)
  // npm clones the commit, installs its dev dependencies and runs `prepare` there, then packs it.
  const head = run('git', ['rev-parse', 'HEAD'], ROOT).trim()
  hosts.git = host(scratch, 'host-installing-from-git', `git+file://${ROOT}#${head}`)
}, SETUP_TIMEOUT_MS)

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true })
})

describe('the packed tarball', () => {
  it('holds the build, the README, the LICENSE and package.json, and nothing a user does not need', () => {
    expect(packed.files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json']))
    expect(packed.files).toEqual(
      expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/sandbox/index.js', 'dist/cli/main.js'])
    )
    const others = packed.files.filter(
      (f) => !f.startsWith('dist/') && !['LICENSE', 'README.md', 'package.json'].includes(f)
    )
    expect(others).toEqual([])
    expect(packed.files.filter((f) => /\.map$|soak|bench|test/.test(f))).toEqual([])
  })
})

describe.each([
  ['a host without actions-core of its own', 'fresh', 'node16'],
  [`a host with its own actions-core (^${OLD_CORE_VERSION})`, 'ownCore', 'node10']
] as const)('installed into %s', (_, shape, resolution) => {
  it('leaves one actions-core, in the peer range, shared by host and destination, and the fast-uri that works', () => {
    const h = hosts[shape]
    const cores = h.copies(join('@segment', 'actions-core'))
    expect(cores).toHaveLength(1)
    expect(inPeerRange(cores[0])).toBe(true)
    expect(h.copies('fast-uri')).toEqual(['3.1.5'])
  })

  it(
    `type-checks a strict TypeScript host (${resolution} resolution) without casts, and syncs from it`,
    () => {
      const out = runConsumer(hosts[shape].dir, resolution)

      expect(out.authentication).toBe('ok')
      expect(out.wrongSecret).toBe(
        'Credentials are invalid:  Criteo refused the Client ID and Client Secret (HTTP 401 invalid-client-credentials: ' +
          'Client credentials are invalid). Check both in the destination settings: they are the API credentials of an ' +
          'app in Criteo Partners Portal.'
      )
      expect(out.lists.map((l) => l.name)).toEqual(['vip'])
      expect(out.results).toEqual([
        {
          multistatus: [
            {
              status: 200,
              sent: { audience_key: 'vip', email: hash('ann@example.com') },
              body: { contactListId: out.lists[0].id, operation: 'add' }
            },
            MALFORMED,
            MISSING
          ]
        }
      ])
      expect(out.members).toEqual({ vip: [hash('ann@example.com')] })
    },
    STEP_TIMEOUT_MS
  )

  it(
    "runs the README's example as it is written",
    () => {
      writeFileSync(join(hosts[shape].dir, 'sync-to-sandbox.js'), readmeExample())
      expect(run(process.execPath, ['sync-to-sandbox.js'], hosts[shape].dir)).toBe('[ 200, 400, 400 ]\nvip: 1 member\n')
    },
    STEP_TIMEOUT_MS
  )

  it(
    'runs the installed bin: its help names it, and a small sync reports every event',
    () => {
      const help = runBin(hosts[shape].dir, ['--help'])
      expect(help.code).toBe(0)
      expect(help.stdout.split('\n')[0]).toBe('Usage: criteo-audiences-sync [options]')

      const sync = runBin(hosts[shape].dir, ['--entered', '300', '--exited', '30', '--seed', '7', '--json'])
      expect({ code: sync.code, stderr: sync.stderr }).toEqual({ code: 0, stderr: expect.any(String) })
      const report = JSON.parse(sync.stdout) as {
        ok: boolean
        errors: Record<string, number>
        audiences: Array<Record<string, unknown>>
        requests: Record<string, number>
      }
      const tallies = expectedTallies(generateEngageStream({ entered: 300, exited: 30, seed: 7, mode: 'track' }))
      expect(report.ok).toBe(true)
      expect(report.errors).toEqual({})
      expect(report.audiences).toEqual(
        [...tallies.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([audience, t]) => ({
            audience,
            entered: t.entered,
            exited: t.exited,
            synced: t.synced,
            notSynced: { missingIdentifier: t.missing, malformedEmail: t.malformed, invalid: 0 },
            errored: 0,
            listId: expect.any(String)
          }))
      )
      expect(report.requests).toMatchObject({ token: 1, search: 1, create: tallies.size })
    },
    STEP_TIMEOUT_MS
  )
})

describe('installed from git', () => {
  it(
    "has the build, and the README's example and the bin run from it",
    () => {
      const dir = hosts.git.dir
      const installed = readdirSync(join(dir, 'node_modules', 'criteo-audiences-actions', 'dist'))
      expect(installed).toEqual(expect.arrayContaining(['index.js', 'index.d.ts', 'sandbox', 'cli']))
      writeFileSync(join(dir, 'sync-to-sandbox.js'), readmeExample())
      expect(run(process.execPath, ['sync-to-sandbox.js'], dir)).toBe('[ 200, 400, 400 ]\nvip: 1 member\n')
      expect(runBin(dir, ['--help']).stdout.split('\n')[0]).toBe('Usage: criteo-audiences-sync [options]')
    },
    STEP_TIMEOUT_MS
  )
})

describe(`a host pinned to actions-core ${OLD_CORE_VERSION}, outside the peer range`, () => {
  it(
    'is refused at install, naming the peer dependency, instead of running two copies',
    () => {
      const dir = join(scratch, 'host-pinned-to-an-old-actions-core')
      mkdirSync(dir)
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'pinned', version: '1.0.0', private: true }))
      npm(['install', '--save-exact', `@segment/actions-core@${OLD_CORE_VERSION}`], dir)

      const install = spawnSync('npm', ['install', packed.tarball, '--prefer-offline', '--no-audit', '--no-fund'], {
        cwd: dir,
        env: cleanEnv(),
        encoding: 'utf8'
      })
      expect(install.status).not.toBe(0)
      expect(install.stderr).toContain('ERESOLVE')
      expect(install.stderr).toContain(`peer @segment/actions-core@"${PEER_RANGE}" from criteo-audiences-actions`)
      expect(readdirSync(join(dir, 'node_modules'))).not.toContain('criteo-audiences-actions')
    },
    STEP_TIMEOUT_MS
  )
})
