import { tryParseJid } from '../jid.ts';

/** The prepared domain of a JID, or undefined when it is not a valid JID (RFC 7622). */
export function domainOf(jid: string | undefined): string | undefined {
  if (jid === undefined) return undefined;
  return tryParseJid(jid)?.domain;
}
