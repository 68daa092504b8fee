import { randomBytes } from 'crypto'

export type TokenCheck = { ok: true; clientId: string } | { ok: false; reason: 'invalid' | 'expired' }

export interface TokenStore {
  issue(clientId: string): string
  check(token: string | undefined): TokenCheck
  revoke(token: string): void
  revokeAll(): void
}

/**
 * Opaque random tokens (Criteo's are JWTs, but no client should read them, and an opaque one makes sure of it).
 * Expired tokens are remembered so they answer "expired" rather than "invalid", as Criteo does; a sandbox issues few.
 */
export function createTokenStore(ttlSeconds: number, now: () => number): TokenStore {
  const tokens = new Map<string, { clientId: string; expiresAt: number }>()
  return {
    issue(clientId) {
      const token = randomBytes(32).toString('base64url')
      tokens.set(token, { clientId, expiresAt: now() + ttlSeconds * 1000 })
      return token
    },
    check(token) {
      const entry = token === undefined ? undefined : tokens.get(token)
      if (!entry) return { ok: false, reason: 'invalid' }
      if (now() >= entry.expiresAt) return { ok: false, reason: 'expired' }
      return { ok: true, clientId: entry.clientId }
    },
    revoke(token) {
      tokens.delete(token)
    },
    revokeAll() {
      tokens.clear()
    }
  }
}

/** The token in an `Authorization: Bearer …` header; the scheme is case-insensitive (RFC 7235). */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^bearer\s+(\S+)\s*$/i.exec(authorization ?? '')
  return match?.[1]
}
