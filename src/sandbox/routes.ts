import { sandboxErrors } from './errors'

/** The endpoints the sandbox serves; also the keys of `requestCounts()`. */
export const ENDPOINT_KINDS = ['token', 'search', 'create', 'amend', 'wipe', 'statistics', 'delete'] as const
export type EndpointKind = (typeof ENDPOINT_KINDS)[number]

/** `logPath` is the path as logs may show it: a list id at most, never anything else a client put in the path. */
export type ApiRoute =
  | { kind: 'search' | 'create' | 'delete'; logPath: string }
  | { kind: 'amend' | 'wipe' | 'statistics'; listId: string; logPath: string }
export type Route = { kind: 'token'; logPath: string } | ApiRoute

export const TOKEN_PATH = '/oauth2/token'

const VERSIONED_PATH = /^\/([^/]+)\/marketing-solutions\/audience-segments\/(.+)$/
const CONTACT_LIST_PATH = /^([^/]+)\/contact-list(\/statistics)?$/
const COLLECTION_ACTIONS: Record<string, 'search' | 'create' | 'delete'> = {
  search: 'search',
  create: 'create',
  delete: 'delete'
}

/**
 * The endpoint a request is for, or the 404 Criteo would answer.
 * The version is checked before the rest of the path, so a client on the wrong version learns that, not "no such path".
 */
export function matchRoute(method: string, pathname: string, apiVersion: string): Route {
  if (pathname === TOKEN_PATH && method === 'POST') return { kind: 'token', logPath: TOKEN_PATH }

  const versioned = VERSIONED_PATH.exec(pathname)
  if (!versioned) throw sandboxErrors.routeNotFound()
  const [, version, rest] = versioned
  if (version !== apiVersion) throw sandboxErrors.apiVersionNotFound(apiVersion)

  const action = Object.hasOwn(COLLECTION_ACTIONS, rest) ? COLLECTION_ACTIONS[rest] : undefined
  if (action && method === 'POST') return { kind: action, logPath: pathname }

  const contactList = CONTACT_LIST_PATH.exec(rest)
  if (contactList) {
    const [, listId, statistics] = contactList
    const kind = contactListKind(method, statistics !== undefined)
    if (kind) return { kind, listId, logPath: listLogPath(apiVersion, listId, statistics ?? '') }
  }
  throw sandboxErrors.routeNotFound()
}

function contactListKind(method: string, statistics: boolean): 'amend' | 'wipe' | 'statistics' | undefined {
  if (statistics) return method === 'GET' ? 'statistics' : undefined
  if (method === 'PATCH') return 'amend'
  if (method === 'DELETE') return 'wipe'
  return undefined
}

/** Logs show a list id only when it looks like one: a client that put an email in the path must not leak it. */
function listLogPath(apiVersion: string, listId: string, suffix: string): string {
  const shownId = /^\d+$/.test(listId) ? listId : '{id}'
  return `/${apiVersion}/marketing-solutions/audience-segments/${shownId}/contact-list${suffix}`
}
