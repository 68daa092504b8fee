import fc from 'fast-check'
import { fieldsToJsonSchema } from '@segment/actions-core'
import type { InputField, SegmentEvent } from '@segment/actions-core'
import { CHANGES, FORMER_MAPPING, measureVariant, prepareBatch, useEngine, versions } from '../../bench/mapping-engine'
import { presetFor } from '../../src/cli/runner'
import { audienceFields } from '../../src/destinations/criteo-audiences/fields'
import { engageEvent } from '../../src/cli/generate'

/**
 * The proposal for actions-core (docs/actions-core-mapping-proposal.md) changes how its functions work, never what
 * they give: each proposed function against actions-core 3.170.0's own, on inputs of every shape.
 */
type AnyFn = (...args: unknown[]) => unknown
const stock = versions.stock as Record<string, AnyFn>
const proposed = versions.proposed as Record<string, AnyFn>

/** The result, or the error's message: both versions must throw alike, too. */
function outcome(fn: AnyFn, ...args: unknown[]): unknown {
  try {
    return { value: fn(...args) }
  } catch (error) {
    return { error: (error as Error).message }
  }
}

const key = fc.constantFrom('a', 'b', 'email', '0', '1', 'x.y', '@path', '@if', '_metadata', '')
const leaf = fc.oneof(
  fc.constantFrom<unknown>(undefined, null, '', ' ', 0, 1, true, false, 'x', 'ann@example.com', [], {}),
  fc.string({ maxLength: 4 })
)
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('node'), { maxLength: 3 }),
  object: fc.dictionary(key, tie('node'), { maxKeys: 4 })
})).node

afterAll(() => useEngine([]))

describe('the proposed functions give what actions-core 3.170.0 gives', () => {
  it('get, on paths with dots, brackets and quotes, through values of every kind', () => {
    const path = fc.constantFrom(
      '',
      '.',
      'a',
      'a.b',
      'a.b.c',
      'a[0]',
      'a[0].b',
      "a['x.y']",
      'a["b"].a',
      'b[1][0]',
      '0.a',
      'email'
    )
    fc.assert(
      fc.property(value, path, (obj, p) => {
        expect(outcome(proposed.get, obj, p)).toEqual(outcome(stock.get, obj, p))
        expect(outcome(proposed.get, obj, p)).toEqual(outcome(stock.get, obj, p))
        expect(outcome(proposed.get, obj, p.split('.'))).toEqual(outcome(stock.get, obj, p.split('.')))
      }),
      { numRuns: 500 }
    )
    for (const p of [null, undefined]) expect(proposed.get({ a: 1 }, p)).toBe(stock.get({ a: 1 }, p))
  })

  it.each([
    ['isObject', [{}, [], null, undefined, 'x', 1, new Date(0), Object.create(null), new Map(), /x/]],
    [
      'isDirective',
      [{ '@path': 'x' }, { '@path': 'x', _metadata: {} }, { '@path': 'x', a: 1 }, { a: 1 }, {}, [], null, 'x']
    ]
  ])('%s, on values of every kind', (name, values) => {
    for (const v of values) expect(proposed[name](v)).toBe(stock[name](v))
    fc.assert(fc.property(value, (v) => expect(proposed[name](v)).toBe(stock[name](v))))
  })

  it('removeUndefined, on nested objects and arrays', () => {
    fc.assert(fc.property(value, (v) => expect(proposed.removeUndefined(v)).toEqual(stock.removeUndefined(v))))
  })

  it('removeEmptyValues, for every field type, nested, at the root and below', () => {
    const schema = fieldsToJsonSchema({
      a: { label: 'a', description: 'a', type: 'string' },
      b: { label: 'b', description: 'b', type: 'boolean', allowNull: true },
      email: { label: 'e', description: 'e', type: 'number' },
      x: { label: 'x', description: 'x', type: 'object', properties: { a: { label: 'a', type: 'string' } } },
      '0': { label: '0', description: '0', type: 'string', multiple: true }
    })
    fc.assert(
      fc.property(value, fc.boolean(), (v, isRoot) => {
        expect(proposed.removeEmptyValues(v, schema, isRoot)).toEqual(stock.removeEmptyValues(v, schema, isRoot))
      }),
      { numRuns: 500 }
    )
  })

  it('validateSchema: the same verdict, the same coercions and removals, the same error', () => {
    const schema = fieldsToJsonSchema(audienceFields)
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...Object.keys(audienceFields), 'other'), leaf), (payload) => {
        const [a, b] = [structuredClone(payload), structuredClone(payload)]
        const options = { schemaKey: 'mapping-engine-test', throwIfInvalid: true, exempt: ['dynamicAuthSettings'] }
        expect(outcome(proposed.validateSchema, a, schema, options)).toEqual(
          outcome(stock.validateSchema, b, schema, options)
        )
        expect(a).toEqual(b)
      }),
      { numRuns: 300 }
    )
  })

  it('all of them together, on what actions-core does to a batch before performBatch', () => {
    const event = fc.record({
      n: fc.nat(1000),
      email: leaf,
      audience: fc.constantFrom('a', '', undefined),
      identify: fc.boolean(),
      extra: value
    })
    const cases = [
      {
        mapping: FORMER_MAPPING,
        fields: { ...audienceFields, external_audience_id: { label: 'l', description: 'l', type: 'string' } }
      },
      { mapping: presetFor('addUserToAudience').mapping, fields: audienceFields }
    ] as Array<{ mapping: Record<string, unknown>; fields: Record<string, InputField> }>
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 5 }), (rows) => {
        const events = rows.map(({ n, email, audience, identify, extra }) => {
          const e = engageEvent(`u${n}`, 'a', true, email, n, identify ? 'identify' : 'track') as {
            properties?: Record<string, unknown>
            context: Record<string, unknown>
          }
          if (e.properties) e.properties.audience_key = audience
          e.context.device = { advertisingId: extra }
          return e as unknown as SegmentEvent
        })
        cases.forEach(({ mapping, fields }, c) => {
          const schema = fieldsToJsonSchema(fields)
          const run = (changes: readonly (typeof CHANGES)[number][]) => {
            useEngine(changes)
            return outcome(() => prepareBatch(mapping, structuredClone(events), schema as never, `engine-test-${c}`))
          }
          expect(run(CHANGES)).toEqual(run([]))
        })
      }),
      { numRuns: 200 }
    )
  })
})

describe('the benchmark of the proposal', () => {
  it('measures both mappings and onBatch with every event synced, with the proposed engine in place', async () => {
    const run = await measureVariant(CHANGES, { batches: 2, batchSize: 50, warmupPasses: 1 })
    useEngine([])
    expect(run.steps.map((step) => step.mapping)).toEqual(['this destination, former mapping', 'this destination'])
    expect(run.onBatch.map((row) => row.destination)).toEqual(['this destination'])
    expect(run.eventsNotOk).toBe(0)
    for (const { cost } of [...run.steps, ...run.onBatch]) expect(cost.allocatedBytes).toBeGreaterThan(0)
  })
})
