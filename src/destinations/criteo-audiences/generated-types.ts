// Generated file. DO NOT MODIFY IT BY HAND: run `npm run types`.

export interface Settings {
  /**
   * Your Criteo advertiser ID, digits only. Audiences are created and updated for this advertiser.
   */
  advertiser_id: string
  /**
   * The Client ID of your Criteo API app (Criteo Partners Portal → your app → credentials).
   */
  client_id: string
  /**
   * The Client Secret of the same Criteo API app.
   */
  client_secret: string
  /**
   * Only if you sync GUM ids: the GUM caller id Criteo gave you (digits). Events with a GUM id are refused without it.
   */
  gum_caller_id?: string
}
