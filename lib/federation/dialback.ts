import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import xml, { type Element } from '@xmpp/xml';
import { S2S_NS } from './namespaces.ts';

/**
 * XEP-0185 §3: key = HMAC-SHA256(SHA256(secret), receiving + ' ' + originating + ' ' + streamId), in hex.
 * Stateless, so any task that shares the secret can answer <db:verify/> for keys another task sent.
 */
export function dialbackKey(secret: string, receiving: string, originating: string, streamId: string): string {
  const hashedSecret = createHash('sha256').update(secret, 'utf8').digest('hex');
  return createHmac('sha256', hashedSecret).update(`${receiving} ${originating} ${streamId}`, 'utf8').digest('hex');
}

export function keyIsValid(secret: string, receiving: string, originating: string, streamId: string, key: string): boolean {
  const expected = Buffer.from(dialbackKey(secret, receiving, originating, streamId), 'utf8');
  const given = Buffer.from(key.trim(), 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export type DialbackOutcome = 'valid' | 'invalid' | { error: DialbackErrorCondition };
/** XEP-0220 §2.4.2 (dialback error conditions), each a stanza error condition. */
export type DialbackErrorCondition =
  | 'item-not-found'
  | 'remote-connection-failed'
  | 'remote-server-not-found'
  | 'remote-server-timeout'
  | 'policy-violation'
  | 'not-authorized'
  | 'forbidden'
  | 'not-acceptable'
  | 'resource-constraint'
  | 'internal-server-error';

/** <db:result/> or <db:verify/>, request (with a key) or answer (with a type). */
export function dialbackElement(
  name: 'result' | 'verify',
  attrs: { from: string; to: string; id?: string },
  body: { key: string } | { outcome: DialbackOutcome },
): Element {
  if ('key' in body) return xml(`db:${name}`, { ...attrs }, body.key);
  const { outcome } = body;
  if (typeof outcome === 'string') return xml(`db:${name}`, { ...attrs, type: outcome });
  return xml(
    `db:${name}`,
    { ...attrs, type: 'error' },
    xml('error', { type: outcome.error === 'remote-server-timeout' || outcome.error === 'resource-constraint' ? 'wait' : outcome.error === 'not-authorized' ? 'auth' : 'cancel' }, xml(outcome.error, { xmlns: S2S_NS.stanzas })),
  );
}

/** The outcome an answer carries; anything unrecognised counts as an error. */
export function outcomeOf(answer: Element): DialbackOutcome {
  const type = answer.attrs.type;
  if (type === 'valid' || type === 'invalid') return type;
  const condition = answer.getChild('error')?.children.find((c): c is Element => typeof c !== 'string')?.name;
  return { error: (condition as DialbackErrorCondition | undefined) ?? 'internal-server-error' };
}

/** XEP-0220 §2.4.2: the feature that says we speak dialback, with error handling. */
export function dialbackFeature(): Element {
  return xml('dialback', { xmlns: S2S_NS.dialbackFeature }, xml('errors'));
}
