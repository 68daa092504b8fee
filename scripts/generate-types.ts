/**
 * Writes `generated-types.ts` beside the destination (its Settings) and beside each action (its Payload), from the
 * fields themselves, as Segment's own tooling does. `npm run types` writes them; `--check` fails when one is stale.
 */
import { readFileSync, writeFileSync } from 'fs'
import { join } from 'path'
import { fieldsToJsonSchema } from '@segment/actions-core'
import type { InputField } from '@segment/actions-core'
import { compile } from 'json-schema-to-typescript'
import type { JSONSchema4 } from 'json-schema'
import destination from '../src/destinations/criteo-audiences'

const DESTINATION_DIR = join(__dirname, '..', 'src', 'destinations', 'criteo-audiences')

/** Titles and enums would become extra named types; the generated files hold exactly one interface each. */
function stripNames(schema: JSONSchema4): JSONSchema4 {
  const { title: _title, enum: _enum, ...rest } = schema
  if (rest.properties) {
    rest.properties = Object.fromEntries(
      Object.entries(rest.properties).map(([key, value]) => [key, stripNames(value)])
    )
  }
  if (rest.items && !Array.isArray(rest.items)) rest.items = stripNames(rest.items)
  return rest
}

async function typeFile(name: string, fields: Record<string, InputField>): Promise<string> {
  const schema = stripNames(fieldsToJsonSchema(fields, { tsType: true }))
  return compile(schema, name, {
    bannerComment: '// Generated file. DO NOT MODIFY IT BY HAND: run `npm run types`.',
    additionalProperties: false,
    style: { semi: false, singleQuote: true, printWidth: 120 }
  })
}

/** Every generated file's path and content. */
export async function generatedTypeFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>()
  files.set(
    join(DESTINATION_DIR, 'generated-types.ts'),
    await typeFile('Settings', (destination.authentication?.fields ?? {}) as Record<string, InputField>)
  )
  for (const [slug, action] of Object.entries(destination.actions)) {
    files.set(join(DESTINATION_DIR, slug, 'generated-types.ts'), await typeFile('Payload', action.fields))
  }
  return files
}

async function main() {
  const check = process.argv.includes('--check')
  const stale: string[] = []
  for (const [path, content] of await generatedTypeFiles()) {
    let current = ''
    try {
      current = readFileSync(path, 'utf8')
    } catch {
      // a missing file is stale
    }
    if (current === content) continue
    stale.push(path)
    if (!check) writeFileSync(path, content)
  }
  if (check && stale.length) {
    console.error(`Stale generated types (run npm run types): ${stale.join(', ')}`)
    process.exit(1)
  }
  console.log(check ? 'Generated types are up to date.' : `Wrote ${stale.length} generated type file(s).`)
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error)
    process.exit(1)
  })
}
