import xml, { type Element } from '@xmpp/xml';
import { NS } from '../xml/namespaces.ts';

/** RFC 6120 §8.3.3 conditions, each with its default error type (§8.3.2). */
const DEFAULT_TYPE = {
  'bad-request': 'modify',
  conflict: 'cancel',
  'feature-not-implemented': 'cancel',
  forbidden: 'auth',
  'internal-server-error': 'cancel',
  'item-not-found': 'cancel',
  'jid-malformed': 'modify',
  'not-acceptable': 'modify',
  'not-allowed': 'cancel',
  'not-authorized': 'auth',
  'policy-violation': 'modify',
  'recipient-unavailable': 'wait',
  'remote-server-not-found': 'cancel',
  'remote-server-timeout': 'wait',
  'resource-constraint': 'wait',
  'service-unavailable': 'cancel',
  'subscription-required': 'auth',
  'undefined-condition': 'cancel',
  'unexpected-request': 'wait',
} as const;

export type StanzaErrorCondition = keyof typeof DEFAULT_TYPE;
export type StanzaErrorType = 'auth' | 'cancel' | 'continue' | 'modify' | 'wait';

/** Thrown by a handler to answer its stanza with an error. */
export class StanzaError extends Error {
  constructor(
    readonly condition: StanzaErrorCondition,
    readonly text?: string,
    readonly type: StanzaErrorType = DEFAULT_TYPE[condition],
  ) {
    super(text ? `${condition}: ${text}` : condition);
  }
}

/**
 * The one builder of error replies (RFC 6120 §8.3.1): swaps to/from, keeps id and the original payload,
 * adds `<error/>`. Returns undefined for a stanza that is itself an error: never answer an error with an error.
 */
export function errorReply(stanza: Element, error: StanzaError, by?: string): Element | undefined {
  if (stanza.attrs.type === 'error') return undefined;
  const reply = xml(stanza.name, {
    xmlns: NS.client,
    type: 'error',
    id: stanza.attrs.id,
    from: stanza.attrs.to,
    to: stanza.attrs.from,
  });
  for (const child of stanza.children) {
    // The request's payload goes back with the error (§8.3.1); the request is not used after this.
    if (typeof child !== 'string' && child.name !== 'error') reply.cnode(child);
  }
  reply.cnode(
    xml(
      'error',
      { type: error.type, by },
      xml(error.condition, { xmlns: NS.stanzas }),
      ...(error.text ? [xml('text', { xmlns: NS.stanzas, 'xml:lang': 'en' }, error.text)] : []),
    ),
  );
  return reply;
}
