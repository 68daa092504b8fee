import { accountFor } from '../../src/destinations/criteo-audiences/accounting'

const sent = ['a', 'b', 'c', 'd']

describe('accountFor: what an amendment answer says of each identifier sent', () => {
  it.each([
    ['every one counted valid', { nbValidIdentifiers: 4, nbInvalidIdentifiers: 0 }, [], 0],
    ['no counts at all: the amendment was taken, bar the sample', {}, [], 0],
    [
      'nulls everywhere',
      { nbValidIdentifiers: null, nbInvalidIdentifiers: null, sampleInvalidIdentifiers: null },
      [],
      0
    ],
    [
      'one invalid, sampled',
      { nbValidIdentifiers: 3, nbInvalidIdentifiers: 1, sampleInvalidIdentifiers: ['b'] },
      ['b'],
      0
    ],
    ['one invalid, not sampled', { nbValidIdentifiers: 3, nbInvalidIdentifiers: 1 }, [], 1],
    [
      'two invalid, one sampled',
      { nbValidIdentifiers: 2, nbInvalidIdentifiers: 2, sampleInvalidIdentifiers: ['c'] },
      ['c'],
      1
    ],
    ['counts that do not cover what was sent', { nbValidIdentifiers: 1, nbInvalidIdentifiers: 0 }, [], 3],
    [
      'only an invalid count, beyond the sample',
      { nbInvalidIdentifiers: 2, sampleInvalidIdentifiers: ['a'] },
      ['a'],
      1
    ],
    ['only a valid count', { nbValidIdentifiers: 2 }, [], 2],
    ['counts beyond what was sent', { nbValidIdentifiers: 9, nbInvalidIdentifiers: 0 }, [], 0],
    ['a negative count: nothing counted valid', { nbValidIdentifiers: -1 }, [], 4],
    ['a sample naming what was not sent', { nbValidIdentifiers: 4, sampleInvalidIdentifiers: ['zz'] }, [], 0]
  ])('%s', (_, counts, sampled, unaccounted) => {
    const accounting = accountFor(sent, counts)
    expect([...accounting.sampledInvalid]).toEqual(sampled)
    expect(accounting.unaccounted).toBe(unaccounted)
    expect(accounting.others).toBe(sent.length - sampled.length)
  })

  it.each([
    ['no counts at all', {}, false],
    ['null counts', { nbValidIdentifiers: null, nbInvalidIdentifiers: null, sampleInvalidIdentifiers: ['a'] }, false],
    ['only a valid count', { nbValidIdentifiers: 4 }, true],
    ['only an invalid count of 0', { nbInvalidIdentifiers: 0 }, true]
  ])('says whether the answer gave any count: %s', (_, counts, counted) => {
    expect(accountFor(sent, counts).counted).toBe(counted)
  })
})
