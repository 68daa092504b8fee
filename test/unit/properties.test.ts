import fc from 'fast-check'
import { normalizeEmail, prepareEmail } from '../../src/destinations/criteo-audiences/identifiers'
import { planAmendments, AudienceEvent } from '../../src/destinations/criteo-audiences/plan'

const local = fc.stringMatching(/^[A-Za-z0-9._+-]{1,12}$/)
const domain = fc.stringMatching(/^[A-Za-z0-9-]{1,8}\.[A-Za-z]{2,4}$/)
const padding = fc.constantFrom('', ' ', '  ', '\t', '\n')
/** Emails as they arrive: valid ones in any case and padding, and plenty that are not emails at all. */
const rawEmail = fc.oneof(
  fc.tuple(padding, local, domain, padding).map(([a, l, d, b]) => `${a}${l}@${d}${b}`),
  fc.string(),
  fc.constant(undefined),
  fc.stringMatching(/^[0-9a-fA-F]{64}$/)
)
const event = fc.record({
  audience_key: fc.constantFrom('vip', 'VIP', 'cart', 'ünïcödé', 'a b'),
  email: rawEmail,
  hash_emails: fc.boolean()
}) as fc.Arbitrary<AudienceEvent>

describe('identifier properties', () => {
  it('normalization is idempotent', () => {
    fc.assert(fc.property(fc.string(), (raw) => normalizeEmail(normalizeEmail(raw)) === normalizeEmail(raw)))
  })

  it('a prepared identifier never changes on a second pass', () => {
    fc.assert(
      fc.property(rawEmail, fc.boolean(), (raw, hash) => {
        const first = prepareEmail(raw, hash)
        if (!first.ok) return true
        const second = prepareEmail(first.value, hash)
        return second.ok && second.value === first.value
      })
    )
  })
})

const operation = fc.constantFrom<'add' | 'remove' | undefined>('add', 'remove', undefined)

describe('batch plan properties', () => {
  it('never moves an identifier to another audience, and answers for every event', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), fc.integer({ min: 1, max: 7 }), (events, max) => {
        const { rejected, chunks } = planAmendments(events, { maxPerChunk: max, defaultOperation: 'add' })
        const seen = new Map<number, number>()
        for (const chunk of chunks) {
          if (chunk.identifiers.length === 0 || chunk.identifiers.length > max) return false
          chunk.events.forEach((index, k) => {
            const prepared = prepareEmail(events[index].email, events[index].hash_emails !== false)
            expect(chunk.target).toEqual({ kind: 'name', name: events[index].audience_key })
            expect(prepared).toEqual({ ok: true, value: chunk.identifiers[chunk.positions[k]] })
            seen.set(index, (seen.get(index) ?? 0) + 1)
          })
        }
        for (const { index } of rejected) seen.set(index, (seen.get(index) ?? 0) + 1)
        // Every event (with only an email) is either sent or rejected, exactly once.
        return events.every((_, i) => seen.get(i) === 1)
      })
    )
  })

  it('sends an identifier at most once per audience, with the operation of its last event', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(event, operation), { maxLength: 60 }),
        fc.integer({ min: 1, max: 7 }),
        (pairs, max) => {
          const events = pairs.map(([e]) => e)
          const operations = pairs.map(([, op]) => op)
          const perAudience = new Map<string, string[]>()
          for (const chunk of planAmendments(events, { maxPerChunk: max, operations, defaultOperation: 'remove' })
            .chunks) {
            const name = (chunk.target as { name: string }).name
            perAudience.set(name, [...(perAudience.get(name) ?? []), ...chunk.identifiers])
            chunk.positions.forEach((position) => {
              // The last event carrying this identifier in this audience decides the operation.
              const identifier = chunk.identifiers[position]
              const carriers = events
                .map((e, i) => ({ e, i }))
                .filter(({ e }) => {
                  const p = prepareEmail(e.email, e.hash_emails !== false)
                  return e.audience_key === name && p.ok && p.value === identifier
                })
              const lastIndex = carriers[carriers.length - 1].i
              expect(chunk.operation).toBe(operations[lastIndex] ?? 'remove')
            })
          }
          return [...perAudience.values()].every((ids) => new Set(ids).size === ids.length)
        }
      )
    )
  })
})
