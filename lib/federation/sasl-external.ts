import type { TLSSocket } from 'node:tls';
import xml, { type Element } from '@xmpp/xml';
import { S2S_NS } from './namespaces.ts';
import { certificateValidFor, chainTrusted } from './tls.ts';

/**
 * SASL EXTERNAL between servers (RFC 6120 §6, XEP-0178): the peer's TLS certificate is its credential.
 * We offer it only when the certificate chains to a trusted anchor and names the domain the stream claims to be from
 * (XEP-0178 §3 step 4), so a peer without such a certificate goes straight to dialback.
 */
export function externalOffered(socket: TLSSocket, claimedDomain: string | undefined, extraCa?: string[]): boolean {
  if (!chainTrusted(socket, extraCa)) return false;
  return claimedDomain ? certificateValidFor(socket, claimedDomain, extraCa) : true;
}

export function mechanismsFeature(external: boolean): Element {
  return xml('mechanisms', { xmlns: S2S_NS.sasl }, ...(external ? [xml('mechanism', {}, 'EXTERNAL')] : []));
}

export type ExternalResult = { domain: string } | { failure: 'invalid-mechanism' | 'invalid-authzid' | 'not-authorized' | 'malformed-request' };

/**
 * Handles <auth/>: the authorization identity is the base64 domain in the element, or, for an empty response
 * ('=' or nothing, RFC 6120 §6.4.2), the 'from' of the stream header. It must be named by the certificate.
 */
export function authenticateExternal(auth: Element, socket: TLSSocket, headerFrom: string | undefined, extraCa?: string[]): ExternalResult {
  if (auth.attrs.mechanism !== 'EXTERNAL') return { failure: 'invalid-mechanism' };
  const text = auth.text().trim();
  let authzid: string | undefined;
  if (text === '' || text === '=') authzid = headerFrom;
  else {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return { failure: 'malformed-request' };
    authzid = Buffer.from(text, 'base64').toString('utf8');
    // XEP-0178 §3: the authzid, when given, is the domain the stream is from.
    if (headerFrom && authzid.toLowerCase() !== headerFrom.toLowerCase()) return { failure: 'invalid-authzid' };
  }
  if (!authzid) return { failure: 'invalid-authzid' };
  if (!certificateValidFor(socket, authzid, extraCa)) return { failure: 'not-authorized' };
  return { domain: authzid.toLowerCase() };
}

export function saslFailure(condition: string): Element {
  return xml('failure', { xmlns: S2S_NS.sasl }, xml(condition));
}

export function saslSuccess(): Element {
  return xml('success', { xmlns: S2S_NS.sasl });
}

/** What we send as the initiating server: our domain as authzid (XEP-0178 §2 step 7; Prosody and ejabberd accept it). */
export function externalAuth(ourDomain: string): Element {
  return xml('auth', { xmlns: S2S_NS.sasl, mechanism: 'EXTERNAL' }, Buffer.from(ourDomain, 'utf8').toString('base64'));
}
