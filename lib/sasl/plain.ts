import { SaslFailure } from './failure.ts';
import { SaslprepError, saslprep } from './saslprep.ts';

const MAX_FIELD_BYTES = 255;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const malformed = (why: string) => new SaslFailure('malformed-request', why);

function decode(field: Buffer): string {
  try {
    return utf8.decode(field);
  } catch {
    throw malformed('PLAIN message is not UTF-8');
  }
}

function prepare(value: string): string {
  try {
    return saslprep(value);
  } catch (error) {
    if (error instanceof SaslprepError) throw malformed(error.message);
    throw error;
  }
}

/**
 * The PLAIN message (RFC 4616 §2): [authzid] NUL authcid NUL passwd, in UTF-8. authcid and
 * password come back SASLprep-ed; authzid (a JID in XMPP) is returned as sent, absent when empty.
 */
export function parsePlain(message: Buffer): { authzid?: string; authcid: string; password: string } {
  // Splitting the bytes is safe: no multi-byte UTF-8 sequence contains a zero byte.
  const first = message.indexOf(0);
  const second = first === -1 ? -1 : message.indexOf(0, first + 1);
  if (second === -1 || message.indexOf(0, second + 1) !== -1) throw malformed('PLAIN needs exactly three fields');
  const rawAuthcid = message.subarray(first + 1, second);
  const rawPassword = message.subarray(second + 1);
  if (rawAuthcid.length > MAX_FIELD_BYTES || rawPassword.length > MAX_FIELD_BYTES) {
    throw malformed('authcid or password longer than 255 bytes');
  }
  const authzid = decode(message.subarray(0, first));
  const authcid = prepare(decode(rawAuthcid));
  const password = prepare(decode(rawPassword));
  if (!authcid || !password) throw malformed('empty authcid or password');
  return { ...(authzid ? { authzid } : {}), authcid, password };
}
