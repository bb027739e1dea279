import { randomBytes, timingSafeEqual } from 'node:crypto';
import { hash, hmac, type ScramCredential, type ScramMechanism } from './credentials.ts';
import { SaslFailure } from './failure.ts';
import { SaslprepError, saslprep } from './saslprep.ts';

/*
 * Server side of SCRAM (RFC 5802, RFC 7677), one pure function per step; the caller keeps the
 * ScramState between steps. Failure conditions: a message that breaks the RFC 5802 §7 grammar is
 * `malformed-request`; a well-formed one the server refuses (channel binding or a mandatory
 * extension it does not support, a wrong nonce, binding or proof) is `not-authorized`.
 */

export interface ScramClientFirst {
  /** `n,,`, `y,,`, `n,a=...,`: echoed base64-encoded in the client's c= attribute. */
  gs2Header: string;
  authzid?: string;
  /** Decoded and SASLprep-ed. */
  username: string;
  clientNonce: string;
  clientFirstBare: string;
}

export interface ScramState {
  mechanism: ScramMechanism;
  gs2Header: string;
  clientFirstBare: string;
  serverFirst: string;
  /** Client nonce followed by server nonce. */
  nonce: string;
  storedKey: string;
  serverKey: string;
}

const malformed = (why: string) => new SaslFailure('malformed-request', why);
const refused = (why: string) => new SaslFailure('not-authorized', why);

// RFC 5802 §7: printable = %x21-2B / %x2D-7E (no comma).
const NONCE = /^[\x21-\x2B\x2D-\x7E]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// An extension attribute: attr-val = ALPHA "=" value.
const EXTENSION = /^[A-Za-z]=.+$/s;

/** RFC 5802 §5.1: ',' and '=' are sent as =2C and =3D (ABNF strings: either case); no other '=' escape. */
function decodeSaslname(value: string): string {
  if (value === '' || /=(?!2C|3D)/i.test(value)) throw malformed('bad saslname');
  return value.replace(/=2C|=3D/gi, (escape) => (escape[1] === '2' ? ',' : '='));
}

export function parseClientFirst(message: string): ScramClientFirst {
  if (message.includes('\0')) throw malformed('NUL in message');
  const gs2 = /^(?:n|y|p=([^,]*)),(a=[^,]*)?,/.exec(message);
  if (!gs2) throw malformed('bad gs2 header');
  // RFC 5802 §6: 'p' asks for channel binding, which this server cannot do (API Gateway holds the TLS session).
  // 'y' is fine: it only says the client supports it, and no -PLUS mechanism is offered.
  if (gs2[1] !== undefined) {
    if (!/^[A-Za-z0-9.-]+$/.test(gs2[1])) throw malformed('bad channel binding name');
    throw refused('channel binding is not supported');
  }
  const gs2Header = gs2[0];
  const authzid = gs2[2] === undefined ? undefined : decodeSaslname(gs2[2].slice(2));
  const clientFirstBare = message.slice(gs2Header.length);
  const [user, nonce, ...extensions] = clientFirstBare.split(',');
  // RFC 5802 §5.1: m= is reserved for mandatory extensions; a server that does not know it must fail.
  if (user?.startsWith('m=')) throw refused('mandatory extension not supported');
  if (!user?.startsWith('n=') || !nonce?.startsWith('r=') || !extensions.every((e) => EXTENSION.test(e))) {
    throw malformed('bad client-first-message');
  }
  const clientNonce = nonce.slice(2);
  if (!NONCE.test(clientNonce)) throw malformed('bad nonce');
  let username: string;
  try {
    username = saslprep(decodeSaslname(user.slice(2)));
  } catch (error) {
    if (error instanceof SaslprepError) throw malformed(error.message);
    throw error;
  }
  if (username === '') throw malformed('empty username');
  return { gs2Header, ...(authzid === undefined ? {} : { authzid }), username, clientNonce, clientFirstBare };
}

/** The server-first-message for a user whose credential is known (for an unknown user, pass a made-up one). */
export function serverFirst(
  mechanism: ScramMechanism,
  first: ScramClientFirst,
  credential: ScramCredential,
  serverNonce = randomBytes(24).toString('base64'),
): { message: string; state: ScramState } {
  const nonce = first.clientNonce + serverNonce;
  const message = `r=${nonce},s=${credential.salt},i=${credential.iterations}`;
  const { gs2Header, clientFirstBare } = first;
  const { storedKey, serverKey } = credential;
  const state = { mechanism, gs2Header, clientFirstBare, serverFirst: message, nonce, storedKey, serverKey };
  return { message, state };
}

/** Checks the client-final-message (RFC 5802 §3); the server-final-message returned proves the server knew the key. */
export function verifyClientFinal(state: ScramState, message: string): { serverFinal: string } {
  if (message.includes('\0')) throw malformed('NUL in message');
  const attributes = message.split(',');
  const [binding, nonce] = attributes;
  const proof = attributes.at(-1)!;
  if (
    attributes.length < 3 ||
    !binding?.startsWith('c=') ||
    !nonce?.startsWith('r=') ||
    !proof.startsWith('p=') ||
    !attributes.slice(2, -1).every((e) => EXTENSION.test(e)) ||
    !BASE64.test(binding.slice(2)) ||
    !BASE64.test(proof.slice(2))
  ) {
    throw malformed('bad client-final-message');
  }
  if (nonce.slice(2) !== state.nonce) throw refused('nonce mismatch');
  // Without channel binding, c= carries the gs2 header back; a change means someone altered the first message.
  if (!Buffer.from(binding.slice(2), 'base64').equals(Buffer.from(state.gs2Header))) {
    throw refused('channel binding mismatch');
  }

  const withoutProof = message.slice(0, message.length - proof.length - 1);
  const authMessage = `${state.clientFirstBare},${state.serverFirst},${withoutProof}`;
  const storedKey = Buffer.from(state.storedKey, 'base64');
  const clientSignature = hmac(state.mechanism, storedKey, authMessage);
  const clientProof = Buffer.from(proof.slice(2), 'base64');
  if (clientProof.length !== clientSignature.length) throw refused('wrong proof');
  const clientKey = Buffer.from(clientProof.map((byte, i) => byte ^ clientSignature[i]!));
  const computed = hash(state.mechanism, clientKey);
  if (computed.length !== storedKey.length || !timingSafeEqual(computed, storedKey)) throw refused('wrong proof');

  const serverSignature = hmac(state.mechanism, Buffer.from(state.serverKey, 'base64'), authMessage);
  return { serverFinal: `v=${serverSignature.toString('base64')}` };
}
