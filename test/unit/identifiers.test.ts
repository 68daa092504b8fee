import {
  MISSING_EMAIL,
  NOT_AN_EMAIL,
  normalizeEmail,
  prepareEmail,
  sha256Hex
} from '../../src/destinations/criteo-audiences/identifiers'

const annHash = sha256Hex('ann@example.com')

describe('prepareEmail', () => {
  it.each([
    ['a plain email, hashed', 'ann@example.com', true, { ok: true, value: annHash }],
    ['mixed case and spaces, normalized then hashed', '  Ann@Example.COM\t', true, { ok: true, value: annHash }],
    ['a lowercase SHA-256, as is', annHash, true, { ok: true, value: annHash }],
    ['an uppercase SHA-256, lowercased, not hashed again', annHash.toUpperCase(), true, { ok: true, value: annHash }],
    ['a SHA-256 with hashing off, as is', ` ${annHash.toUpperCase()} `, false, { ok: true, value: annHash }],
    ['hashing off: the normalized plaintext', ' Ann@Example.com ', false, { ok: true, value: 'ann@example.com' }],
    [
      'a subdomain and plus tag',
      'a.b+tag@mail.example.co.uk',
      true,
      { ok: true, value: sha256Hex('a.b+tag@mail.example.co.uk') }
    ],
    ['unicode local part', 'ÉLODIE@exemple.fr', true, { ok: true, value: sha256Hex('élodie@exemple.fr') }],
    ['undefined', undefined, true, { ok: false, reason: MISSING_EMAIL }],
    ['null', null, true, { ok: false, reason: MISSING_EMAIL }],
    ['empty', '', true, { ok: false, reason: MISSING_EMAIL }],
    ['white space', '   ', true, { ok: false, reason: MISSING_EMAIL }],
    ['no @', 'ann.example.com', true, { ok: false, reason: NOT_AN_EMAIL }],
    ['no dot in the domain', 'ann@localhost', true, { ok: false, reason: NOT_AN_EMAIL }],
    ['two @', 'ann@@example.com', true, { ok: false, reason: NOT_AN_EMAIL }],
    ['a space inside', 'ann smith@example.com', true, { ok: false, reason: NOT_AN_EMAIL }],
    ['a 63-character hex', annHash.slice(1), true, { ok: false, reason: NOT_AN_EMAIL }],
    ['a number', 42, true, { ok: false, reason: NOT_AN_EMAIL }],
    ['an object', { email: 'ann@example.com' }, true, { ok: false, reason: NOT_AN_EMAIL }]
  ])('%s', (_, raw, hash, expected) => {
    expect(prepareEmail(raw, hash)).toEqual(expected)
  })

  it('never puts the address itself in a reason', () => {
    expect(NOT_AN_EMAIL).not.toMatch(/@/)
    expect(MISSING_EMAIL).not.toMatch(/@/)
  })
})

describe('normalizeEmail', () => {
  it.each([
    ['  Ann@Example.COM ', 'ann@example.com'],
    ['ann@example.com', 'ann@example.com'],
    ['\nBOB@EXAMPLE.ORG\n', 'bob@example.org'],
    ['ann\u200b@example.com', 'ann@example.com'],
    ['\ufeffann@example.com', 'ann@example.com'],
    ['\u200dann@example.com\u200f', 'ann@example.com'],
    ['an\u00adn@example.com', 'ann@example.com'],
    ['ann@example.com \u2060', 'ann@example.com']
  ])('%j becomes %j, and stays so on a second pass', (raw, expected) => {
    expect(normalizeEmail(raw)).toBe(expected)
    expect(normalizeEmail(normalizeEmail(raw))).toBe(expected)
  })
})

describe('sha256Hex', () => {
  it('is the lowercase hex SHA-256 Criteo expects', () => {
    expect(sha256Hex('ann@example.com')).toBe('71d4f55f72fa128dfb468a1a3901507c804b74316488744d769d7f4b16696476')
  })
})
