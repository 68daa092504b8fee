/**
 * Criteo's rate limit as the sandbox plays it: a fixed number of calls per client id in each one-minute window.
 * Windows are aligned to the clock's minutes, so `x-ratelimit-reset` is the same for every call in a window and a
 * test can roll to the next window by moving its clock to the next minute.
 */

export const RATE_LIMIT_WINDOW_MS = 60_000

/** `headers` are the `x-ratelimit-*` headers for the answer; empty when rate limiting is off. */
export type RateLimitVerdict =
  | { allowed: true; headers: Record<string, string> }
  | { allowed: false; limitPerMinute: number; headers: Record<string, string> }

export interface RateLimiter {
  /** Counts one call by `clientId` and says whether it may go through. */
  take(clientId: string): RateLimitVerdict
}

interface Window {
  start: number
  count: number
}

export function windowStart(nowMs: number): number {
  return Math.floor(nowMs / RATE_LIMIT_WINDOW_MS) * RATE_LIMIT_WINDOW_MS
}

export function rateLimitHeaders(limit: number, count: number, start: number): Record<string, string> {
  return {
    'x-ratelimit-limit': String(limit),
    'x-ratelimit-remaining': String(Math.max(0, limit - count)),
    // Criteo documents the reset as epoch seconds, not a delay.
    'x-ratelimit-reset': String((start + RATE_LIMIT_WINDOW_MS) / 1000)
  }
}

export function createRateLimiter(limitPerMinute: number | false, now: () => number): RateLimiter {
  if (limitPerMinute === false) return { take: () => ({ allowed: true, headers: {} }) }

  // One entry per client id, overwritten when its window rolls: memory stays bounded by the number of tenants.
  const windows = new Map<string, Window>()
  return {
    take(clientId) {
      const start = windowStart(now())
      let window = windows.get(clientId)
      if (!window || window.start !== start) {
        window = { start, count: 0 }
        windows.set(clientId, window)
      }
      window.count++
      const headers = rateLimitHeaders(limitPerMinute, window.count, start)
      return window.count <= limitPerMinute ? { allowed: true, headers } : { allowed: false, limitPerMinute, headers }
    }
  }
}
