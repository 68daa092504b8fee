/**
 * The benchmark behind docs/actions-core-mapping-proposal.md: what actions-core 3.170.0 spends on each event before a
 * destination's `performBatch` sees it (mapping, removing empty values, validating), and what it would spend with the
 * changes the proposal makes, function by function. The installed copy is never changed: the proposed functions are
 * swapped in, in this process only, for the ones actions-core's own modules call through their exports.
 *
 * `npx ts-node --transpile-only bench/mapping-engine.ts [--quick]`
 */
import { createRequire } from 'module'
import { dirname, join } from 'path'
import { parseArgs } from 'util'
import { fieldsToJsonSchema } from '@segment/actions-core'
import type { InputField, SegmentEvent } from '@segment/actions-core'
import definition from '../src/destinations/criteo-audiences'
import { audienceFields } from '../src/destinations/criteo-audiences/fields'
import { presetFor } from '../src/cli/runner'
import { CriteoStub } from './criteo-stub'
import { batchSettings, enteredEvents, SANDBOX_SETTINGS, withCriteoAt, countNotOk } from './fixtures'
import { table } from './report'
import { batcher, Contender, median, measureCost, SideCost } from './side-by-side'
import { ChildScript } from './child'

/** actions-core's own modules, by path: its package exports hide them, and they are what its code calls. */
const CORE = dirname(require.resolve('@segment/actions-core'))
const coreRequire = createRequire(join(CORE, 'index.js'))
type Exports = Record<string, unknown>
const modules = {
  get: coreRequire('./get.js') as Exports,
  realTypeOf: coreRequire('./real-type-of.js') as Exports,
  isDirective: coreRequire('./mapping-kit/is-directive.js') as Exports,
  removeUndefined: coreRequire('./remove-undefined.js') as Exports,
  removeEmptyValues: coreRequire('./remove-empty-values.js') as Exports,
  schemaValidation: coreRequire('./schema-validation.js') as Exports,
  mappingKit: coreRequire('./mapping-kit/index.js') as Exports
}

/** Each change of the proposal: the module and export it replaces. */
export const CHANGES = [
  'get',
  'isObject',
  'isDirective',
  'removeUndefined',
  'removeEmptyValues',
  'validateSchema'
] as const
export type Change = (typeof CHANGES)[number]

const where: Record<Change, [Exports, string]> = {
  get: [modules.get, 'get'],
  isObject: [modules.realTypeOf, 'isObject'],
  isDirective: [modules.isDirective, 'isDirective'],
  removeUndefined: [modules.removeUndefined, 'removeUndefined'],
  removeEmptyValues: [modules.removeEmptyValues, 'removeEmptyValues'],
  validateSchema: [modules.schemaValidation, 'validateSchema']
}

const stock = Object.fromEntries(CHANGES.map((change) => [change, where[change][0][where[change][1]]])) as Record<
  Change,
  unknown
>

// ---- The proposed functions: same results as actions-core's, without the per-call work. ----

type Dict = Record<string, unknown>

/** The part of a JSON schema these functions read. */
interface Schema {
  type?: string | string[]
  enum?: unknown[]
  items?: Schema
  properties?: Record<string, Schema | undefined>
}

// The separators of actions-core's `get`: dots, and brackets around quoted keys or indexes.
const PATH_SEPARATORS = new RegExp(`\\[(?="|'|\\d)|\\.|(?<="|'|\\d)]+`, 'g')
const splitPaths = new Map<string, string[]>()
const MAX_SPLIT_PATHS = 10_000

/** 1. `get`: a path is split once, not on every read (a regular expression with lookbehind, then two more arrays). */
function proposedGet(obj: unknown, path: string | string[]): unknown {
  if (path === '' || path === '.') return obj
  if (path === null || path === undefined) return undefined
  let keys = Array.isArray(path) ? path : splitPaths.get(path)
  if (keys === undefined) {
    const text = path as string
    keys = text
      .split(PATH_SEPARATORS)
      .filter((key) => key)
      .map((key) => key.replace(/'|"/g, ''))
    if (splitPaths.size < MAX_SPLIT_PATHS) splitPaths.set(text, keys)
  }
  let value = obj
  for (let i = 0; i < keys.length && value; i++) value = (value as Dict)[keys[i]]
  return value
}

const toString = Object.prototype.toString

/** 2. `isObject`: compares the tag, instead of slicing and lowercasing a new string on every call. */
function proposedIsObject(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && toString.call(value) === '[object Object]'
}

/** 3. `isDirective`: one pass over the keys, instead of two arrays per mapping node and event. */
function proposedIsDirective(obj: unknown): boolean {
  if (!proposedIsObject(obj)) return false
  let directive = false
  for (const key in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) continue
    if (key.startsWith('@')) directive = true
    else if (key !== '_metadata') return false
  }
  return directive
}

/** 4. `removeUndefined`: builds the object without its undefined values, instead of copying it and deleting them. */
function proposedRemoveUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(proposedRemoveUndefined)
  if (!proposedIsObject(value)) return value
  const cleaned: Dict = {}
  for (const key of Object.keys(value)) {
    const item = value[key]
    if (item !== undefined) cleaned[key] = proposedRemoveUndefined(item)
  }
  return cleaned
}

function typeIncludes(type: Schema['type'], name: string): boolean {
  return Array.isArray(type) ? type.includes(name) : type === name
}

/** 5. `removeEmptyValues`: the same, and no array made per value to read the schema's type. */
function proposedRemoveEmptyValues(obj: unknown, schema: Schema = {}, isRoot = false): unknown {
  if (!schema.type && !schema.enum) return obj
  if (Array.isArray(obj)) {
    const { items } = schema
    if (!items) return obj
    return obj.filter((item) => proposedRemoveEmptyValues(item, items) !== undefined)
  }
  if (proposedIsObject(obj)) {
    const { properties } = schema
    if (!properties) return obj
    const kept: Dict = {}
    for (const key of Object.keys(obj)) {
      const value = proposedRemoveEmptyValues(obj[key], properties[key])
      if (value === undefined || (value === '' && isRoot)) continue
      kept[key] = value
    }
    return kept
  }
  if (obj === null && !typeIncludes(schema.type, 'null')) return undefined
  if (obj === '' && !typeIncludes(schema.type, 'string')) return undefined
  return obj
}

type Validator = ((data: unknown) => boolean) & { errors?: unknown }
interface Ajv {
  getSchema(key: string): Validator | undefined
  addSchema(schema: object, key: string): Ajv
  compile(schema: object): Validator
  addFormat(name: string, format: unknown): Ajv
}
interface Day {
  isValid(): boolean
}

// actions-core's validator is private to its module; this one is configured the same way (ajv, formats, errors).
const ajvRequire = createRequire(join(CORE, 'schema-validation.js'))
const AjvClass = (ajvRequire('ajv') as { default: new (options: object) => Ajv }).default
const addFormats = (ajvRequire('ajv-formats') as { default: (ajv: Ajv) => Ajv }).default
const dayjs = (ajvRequire('dayjs') as { default: ((date: unknown) => Day) & { unix(seconds: number): Day } }).default
const { AggregateAjvError } = ajvRequire('@segment/ajv-human-errors') as {
  AggregateAjvError: new (errors: unknown) => Error
}
const { arrifyFields } = coreRequire('./arrify.js') as { arrifyFields: (obj: Dict, schema: Schema) => Dict }
const ajv = addFormats(
  new AjvClass({ coerceTypes: 'array', allErrors: true, allowUnionTypes: true, verbose: true, removeAdditional: true })
)
ajv.addFormat('text', true)
// actions-core's rule: digits are Unix seconds (its 13-digit branch is overwritten by the next line), else a date.
ajv.addFormat('date-like', (data: string) =>
  (String(Number(data)) === data ? dayjs.unix(Number(data)) : dayjs(data)).isValid()
)
const validators = new Map<string, Validator>()
const arrayFieldsOf = new WeakMap<object, boolean>()

interface ValidationOptions {
  schemaKey?: string
  throwIfInvalid?: boolean
  statsContext?: { statsClient?: { incr(name: string, value: number, tags?: string[]): void }; tags?: string[] }
  exempt?: string[]
}

/**
 * 6. `validateSchema`: the compiled validator kept by schema key (actions-core looks it up through ajv, which parses
 * the key as a URI on every call), no copy of the payload to restore exempt fields, and arrays made of array fields
 * only when the schema has any.
 */
function proposedValidateSchema(obj: Dict, schema: Schema, options: ValidationOptions = {}): boolean {
  const { schemaKey, throwIfInvalid = true, statsContext, exempt = [] } = options
  let validate = schemaKey ? validators.get(schemaKey) : ajv.compile(schema)
  if (!validate && schemaKey) {
    if (!ajv.getSchema(schemaKey)) ajv.addSchema(schema, schemaKey)
    validate = ajv.getSchema(schemaKey) ?? ajv.compile(schema)
    validators.set(schemaKey, validate)
  }
  if (!validate) throw new Error('No validator: unreachable.')
  const exempted = exempt.length ? exempt.map((prop) => obj[prop]) : undefined
  let hasArrays = arrayFieldsOf.get(schema)
  if (hasArrays === undefined) {
    hasArrays = Object.values(schema.properties ?? {}).some((field) => field?.type === 'array')
    arrayFieldsOf.set(schema, hasArrays)
  }
  if (hasArrays) arrifyFields(obj, schema)
  const valid = validate(obj)
  exempt.forEach((prop, i) => {
    if (exempted?.[i] !== undefined) obj[prop] = exempted[i]
  })
  if (throwIfInvalid && !valid && validate.errors) {
    statsContext?.statsClient?.incr('ajv.discard', 1, statsContext.tags)
    throw new AggregateAjvError(validate.errors)
  }
  return valid
}

const proposed: Record<Change, unknown> = {
  get: proposedGet,
  isObject: proposedIsObject,
  isDirective: proposedIsDirective,
  removeUndefined: proposedRemoveUndefined,
  removeEmptyValues: proposedRemoveEmptyValues,
  validateSchema: proposedValidateSchema
}

/** Each change's function, as actions-core 3.170.0 has it and as proposed: for the test that they give the same results. */
export const versions = { stock, proposed } as const

/** Puts the proposed version of each change in `changes` in place, and actions-core's own back for every other. */
export function useEngine(changes: readonly Change[]): void {
  for (const change of CHANGES) {
    const [module, name] = where[change]
    module[name] = changes.includes(change) ? proposed[change] : stock[change]
  }
}

// ---- What is measured. ----

/** The three steps actions-core runs on a batch before `performBatch`, as `Action.executeBatch` runs them. */
export function prepareBatch(mapping: Dict, events: SegmentEvent[], schema: Schema, key: string): unknown[] {
  const transformBatch = modules.mappingKit.transformBatch as (mapping: Dict, data: SegmentEvent[]) => unknown[]
  const removeEmptyValues = modules.removeEmptyValues.removeEmptyValues as (obj: unknown, schema: Schema) => Dict
  const validateSchema = modules.schemaValidation.validateSchema as (
    obj: Dict,
    schema: Schema,
    options: ValidationOptions
  ) => boolean
  const kept: unknown[] = []
  for (const payload of transformBatch(mapping, events)) {
    const cleaned = removeEmptyValues(payload, schema)
    validateSchema(cleaned, schema, { schemaKey: key, throwIfInvalid: true, exempt: ['dynamicAuthSettings'] })
    kept.push(cleaned)
  }
  return kept
}

/** This destination's default mapping before issue 16: `@if` fallbacks, and two paths usually missing. */
export const FORMER_MAPPING = {
  audience_key: {
    '@if': {
      blank: { '@path': '$.properties.audience_key' },
      then: { '@path': '$.properties.audience_key' },
      else: { '@path': '$.context.personas.computation_key' }
    }
  },
  email: {
    '@if': {
      blank: { '@path': '$.context.traits.email' },
      then: { '@path': '$.context.traits.email' },
      else: { '@path': '$.traits.email' }
    }
  },
  madid: { '@path': '$.context.device.advertisingId' },
  external_audience_id: { '@path': '$.context.personas.external_audience_id' },
  hash_emails: true,
  enable_batching: true,
  batch_size: 1000
}

export interface EngineOptions {
  batches: number
  batchSize: number
  /** Fresh processes per variant; the figures are the median over them. */
  processes: number
  /** Passes over the input in each process before the one measured, while V8 compiles the hot paths. */
  warmupPasses: number
}

/** A variant of the engine: actions-core as installed, one change of the proposal alone, or all of them. */
export interface Variant {
  name: string
  changes: readonly Change[]
}

export const VARIANTS: Variant[] = [
  { name: 'actions-core 3.170.0', changes: [] },
  ...CHANGES.map((change) => ({ name: `+ ${change} alone`, changes: [change] })),
  { name: 'all six', changes: CHANGES }
]

/** What one process measured with one variant: the three steps per mapping, and onBatch per destination. */
export interface VariantRun {
  steps: Array<{ mapping: string; cost: SideCost }>
  onBatch: Array<{ destination: string; cost: SideCost }>
  eventsNotOk: number
}

export interface EngineResult {
  options: EngineOptions
  /** Per variant, the median over its processes. */
  variants: Array<{ variant: Variant } & VariantRun>
}

/** The fields the former mapping was validated against: today's, and the linked list's field of then. */
const FORMER_FIELDS: Record<string, InputField> = {
  ...audienceFields,
  external_audience_id: { label: 'Linked Criteo list', description: 'The list Engage linked.', type: 'string' }
}

/**
 * One variant in this process: swapped in before anything runs, so that actions-core's code only ever sees one
 * version of each function. `warmupPasses` passes over the input first, then one measured.
 */
export async function measureVariant(
  changes: readonly Change[],
  options: Pick<EngineOptions, 'batches' | 'batchSize' | 'warmupPasses'>,
  rival?: Contender
): Promise<VariantRun> {
  useEngine(changes)
  const pool = Array.from({ length: Math.min(10, options.batches) }, (_, b) =>
    enteredEvents(options.batchSize, 'engine_audience', b * options.batchSize)
  )
  const batches = Array.from({ length: options.batches }, (_, b) => pool[b % pool.length])
  const events = options.batches * options.batchSize
  const ours: Contender = {
    label: 'this destination',
    definition,
    settings: batchSettings('add'),
    sourceDir: '/src/destinations/'
  }
  const cases = [
    { name: 'this destination, former mapping', mapping: FORMER_MAPPING, fields: FORMER_FIELDS },
    { name: 'this destination', mapping: presetFor('addUserToAudience').mapping, fields: audienceFields }
  ]
  const contenders = [ours]
  if (rival) {
    const subscription = rival.settings.subscription as { mapping: Dict }
    const fields = rival.definition.actions.addUserToAudience.fields as Record<string, InputField>
    cases.unshift({ name: rival.label, mapping: subscription.mapping, fields })
    contenders.push(rival)
  }

  const steps: VariantRun['steps'] = []
  for (const [c, mappingCase] of cases.entries()) {
    const schema = fieldsToJsonSchema(mappingCase.fields) as Schema
    const work = () => {
      for (const batch of batches) prepareBatch(mappingCase.mapping, batch, schema, `engine-bench-${c}`)
      return 0
    }
    for (let pass = 0; pass < options.warmupPasses; pass++) work()
    steps.push({ mapping: mappingCase.name, cost: (await measureCost(work, events)).cost })
  }

  const onBatch: VariantRun['onBatch'] = []
  let eventsNotOk = 0
  await withCriteoAt('https://localhost', async () => {
    for (const contender of contenders) {
      const stub = new CriteoStub(SANDBOX_SETTINGS.advertiser_id, [{ name: 'engine_audience', id: '101' }])
      const send = batcher(contender, stub)
      const work = async () => {
        let failed = 0
        for (const batch of batches) failed += countNotOk(await send(batch))
        return failed
      }
      for (let pass = 0; pass < options.warmupPasses; pass++) eventsNotOk += await work()
      const { cost, notOk } = await measureCost(work, events)
      eventsNotOk += notOk
      onBatch.push({ destination: contender.label, cost })
    }
  })
  return { steps, onBatch, eventsNotOk }
}

function medianCost(costs: SideCost[]): SideCost {
  return {
    cpuUs: median(costs.map((c) => c.cpuUs)),
    allocatedBytes: median(costs.map((c) => c.allocatedBytes)),
    gcUs: median(costs.map((c) => c.gcUs))
  }
}

/** Each variant in `options.processes` fresh processes (bench/processes/mapping-engine.ts), the variants taking turns. */
export async function measureMappingEngine(options: EngineOptions, withRival: boolean): Promise<EngineResult> {
  const runs = VARIANTS.map(() => [] as VariantRun[])
  for (let round = 0; round < options.processes; round++) {
    // A different variant goes first each round, so that none always runs on a cooler or busier machine.
    for (let k = 0; k < VARIANTS.length; k++) {
      const v = (k + round) % VARIANTS.length
      const child = new ChildScript('mapping-engine.ts', [
        JSON.stringify({ changes: VARIANTS[v].changes, options, withRival })
      ])
      runs[v].push(await child.next<VariantRun>())
      await child.end()
    }
  }
  return {
    options,
    variants: VARIANTS.map((variant, v) => ({
      variant,
      steps: runs[v][0].steps.map(({ mapping }, m) => ({
        mapping,
        cost: medianCost(runs[v].map((run) => run.steps[m].cost))
      })),
      onBatch: runs[v][0].onBatch.map(({ destination }, d) => ({
        destination,
        cost: medianCost(runs[v].map((run) => run.onBatch[d].cost))
      })),
      eventsNotOk: runs[v].reduce((sum, run) => sum + run.eventsNotOk, 0)
    }))
  }
}

const fixed = (n: number, digits = 2) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const ratio = (after: number, before: number) => `${fixed(after / before)}×`

export function formatMappingEngine(result: EngineResult): string {
  const { options, variants } = result
  const stockRun = variants[0]
  const out = [
    `actions-core's steps before performBatch (transformBatch, removeEmptyValues, validateSchema), per event: ` +
      `${options.batches} batches of ${options.batchSize}; each variant in ${options.processes} fresh processes ` +
      `(median), ${options.warmupPasses} passes to warm up in each`
  ]
  stockRun.steps.forEach(({ mapping, cost: base }, m) => {
    out.push(
      '',
      mapping,
      table(
        ['engine', 'CPU µs', 'allocated KB', 'CPU ÷ 3.170.0', 'allocated ÷ 3.170.0'],
        variants.map(({ variant, steps }) => [
          variant.name,
          fixed(steps[m].cost.cpuUs),
          fixed(steps[m].cost.allocatedBytes / 1024),
          ratio(steps[m].cost.cpuUs, base.cpuUs),
          ratio(steps[m].cost.allocatedBytes, base.allocatedBytes)
        ])
      )
    )
  })
  const all = variants[variants.length - 1]
  out.push(
    '',
    'Destination.onBatch per event (the same in-process Criteo as the side-by-side), as installed and with all six',
    table(
      ['destination', 'CPU µs', 'all six', 'ratio', 'allocated KB', 'all six', 'ratio'],
      stockRun.onBatch.map(({ destination, cost: before }, d) => {
        const after = all.onBatch[d].cost
        return [
          destination,
          fixed(before.cpuUs),
          fixed(after.cpuUs),
          ratio(after.cpuUs, before.cpuUs),
          fixed(before.allocatedBytes / 1024),
          fixed(after.allocatedBytes / 1024),
          ratio(after.allocatedBytes, before.allocatedBytes)
        ]
      })
    )
  )
  const notOk = variants.reduce((sum, v) => sum + v.eventsNotOk, 0)
  if (notOk > 0) out.push('', `NOT VALID: ${notOk} events not synced`)
  return out.join('\n')
}

async function main(argv: string[]) {
  const { values } = parseArgs({ args: argv, options: { quick: { type: 'boolean', default: false } } })
  const options: EngineOptions = values.quick
    ? { batches: 10, batchSize: 1_000, processes: 1, warmupPasses: 3 }
    : { batches: 20, batchSize: 1_000, processes: 5, warmupPasses: 5 }
  const result = await measureMappingEngine(options, true)
  process.stdout.write(`${formatMappingEngine(result)}\n`)
  return result.variants.some((v) => v.eventsNotOk > 0) ? 1 : 0
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`${error.stack ?? error.message}\n`)
      process.exit(1)
    }
  )
}
