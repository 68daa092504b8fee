/**
 * `npm run build`, which `prepare` runs so that `npm pack`, `npm publish` and installs from git all ship it (for a
 * git dependency, npm runs `prepare` and no other build script; it also runs after `npm ci` here): compiles src/ into
 * a clean dist/, then copies what tsc does not emit (any file under src/ that is not TypeScript, such as a contract
 * file the sandbox reads at run time) to the same place under dist/.
 */
import { execFileSync } from 'child_process'
import { cpSync, readdirSync, rmSync } from 'fs'
import { join, relative } from 'path'

const root = join(__dirname, '..')
const src = join(root, 'src')
const dist = join(root, 'dist')

rmSync(dist, { recursive: true, force: true })
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit'
})
for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || entry.name.endsWith('.ts')) continue
  const from = join(entry.parentPath, entry.name)
  cpSync(from, join(dist, relative(src, from)))
}
