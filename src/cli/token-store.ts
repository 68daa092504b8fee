import type { RefreshAccessTokenResult } from '@segment/actions-core'

/**
 * The access token one destination instance holds, kept the way Segment keeps it: every batch gets the token held now
 * as its `settings.oauth`, and a token actions-core gets on a 401 (`refreshAccessToken`) is kept through
 * `onTokenRefresh` for every batch after it. A run of `npm start` is one worker, so this only spares it the token
 * requests of its concurrent batches; across a fleet, a store like it is what lets every worker share one token.
 */
export class TokenStore {
  private accessToken?: string
  /** How many times a refreshed token was kept. */
  refreshes = 0

  /**
   * A batch's `settings.oauth`: its own object, since actions-core writes a refreshed token into it in place (and,
   * with no `oauth` in the settings, would have nowhere to keep it for the batch's second run).
   */
  oauth(): { access_token?: string } {
    return this.accessToken === undefined ? {} : { access_token: this.accessToken }
  }

  /** actions-core's `onTokenRefresh` option. */
  readonly onTokenRefresh = (tokens: RefreshAccessTokenResult): Promise<void> => {
    this.accessToken = tokens.accessToken
    this.refreshes++
    return Promise.resolve()
  }
}
