import xml, { type Element } from '@xmpp/xml';
import { JidError, makeJid } from '../jid.ts';
import { verifyPassword, type ScramMechanism } from '../sasl/credentials.ts';
import { SaslFailure, type SaslCondition } from '../sasl/failure.ts';
import { parsePlain } from '../sasl/plain.ts';
import { parseClientFirst, serverFirst, verifyClientFinal } from '../sasl/scram.ts';
import { NS } from '../xml/namespaces.ts';
import type { StreamIO } from './io.ts';
import { StreamError } from './stream-error.ts';

/**
 * PLAIN is offered too: in AWS the socket is always TLS to API Gateway, and locally it is loopback.
 * No -PLUS variants: TLS ends at API Gateway, so there is no channel to bind to.
 */
export const MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'] as const;

/** RFC 6120 §6.4.5 asks for 2 to 5 retries; the 5th failure ends the stream. */
export const MAX_SASL_FAILURES = 5;

export function mechanismsFeature(): Element {
  return xml('mechanisms', { xmlns: NS.sasl }, ...MECHANISMS.map((m) => xml('mechanism', {}, m)));
}

/** One SASL element (RFC 6120 §6.4): `<auth/>`, `<response/>` or `<abort/>`. */
export async function handleSasl(io: StreamIO, element: Element): Promise<void> {
  try {
    if (io.state.user) throw new StreamError('policy-violation', 'already authenticated');
    if (element.name === 'abort') throw new SaslFailure('aborted');
    if (element.name === 'auth') return await auth(io, element);
    if (element.name === 'response') return await response(io, element);
    throw new StreamError('unsupported-stanza-type', `<${element.name}/> is not a SASL element`);
  } catch (error) {
    if (!(error instanceof SaslFailure)) throw error;
    fail(io, error.condition);
  }
}

async function auth(io: StreamIO, element: Element): Promise<void> {
  io.state.scram = undefined;
  const mechanism = element.attrs.mechanism as string;
  if (!(MECHANISMS as readonly string[]).includes(mechanism)) throw new SaslFailure('invalid-mechanism');
  const data = decode(element.getText());
  // Both mechanisms are client-first: without an initial response there is nothing to answer (§6.4.2 allows us to require one).
  if (data === undefined || data.length === 0) throw new SaslFailure('malformed-request', 'initial response required');

  if (mechanism === 'PLAIN') {
    const { authzid, authcid, password } = parsePlain(data);
    const user = userJid(io, authcid);
    const account = await io.accounts.get(user);
    if (!account || !verifyPassword(password, account.credentials['SCRAM-SHA-256'], 'SCRAM-SHA-256')) {
      throw new SaslFailure('not-authorized');
    }
    checkAuthzid(authzid, user);
    return succeed(io, user);
  }

  const scramMechanism = mechanism as ScramMechanism;
  const first = parseClientFirst(data.toString('utf8'));
  const user = userJid(io, first.username);
  checkAuthzid(first.authzid, user);
  // Unknown users fail here as Prosody does; revealing existence this way is no worse than timing would.
  const account = await io.accounts.get(user);
  if (!account) throw new SaslFailure('not-authorized');
  const { message, state } = serverFirst(scramMechanism, first, account.credentials[scramMechanism]);
  io.state.scram = { ...state, user };
  io.send(xml('challenge', { xmlns: NS.sasl }, Buffer.from(message).toString('base64')));
}

async function response(io: StreamIO, element: Element): Promise<void> {
  const state = io.state.scram;
  io.state.scram = undefined;
  if (!state) throw new SaslFailure('malformed-request', 'no exchange in progress');
  const data = decode(element.getText()) ?? Buffer.alloc(0);
  const { serverFinal } = verifyClientFinal(state, data.toString('utf8'));
  succeed(io, state.user, serverFinal);
}

function succeed(io: StreamIO, user: string, additionalData?: string): void {
  io.state.user = user;
  io.state.saslFailures = 0;
  io.state.opened = false; // §6.4.6: the client must restart the stream
  io.send(xml('success', { xmlns: NS.sasl }, additionalData ? Buffer.from(additionalData).toString('base64') : ''));
}

function fail(io: StreamIO, condition: SaslCondition): void {
  io.state.scram = undefined;
  io.send(xml('failure', { xmlns: NS.sasl }, xml(condition)));
  if (condition === 'aborted') return;
  io.state.saslFailures += 1;
  if (io.state.saslFailures >= MAX_SASL_FAILURES) {
    throw new StreamError('policy-violation', 'too many failed authentication attempts');
  }
}

function userJid(io: StreamIO, username: string): string {
  try {
    return makeJid(username, io.state.domain!).toString();
  } catch (error) {
    if (error instanceof JidError) throw new SaslFailure('not-authorized', 'invalid username');
    throw error;
  }
}

/** An authorization identity may only name the authenticated account itself. */
function checkAuthzid(authzid: string | undefined, user: string): void {
  if (authzid && authzid.toLowerCase() !== user) throw new SaslFailure('invalid-authzid');
}

/** §6.4.2: `=` is an empty response; anything not strict base64 is incorrect-encoding. */
function decode(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (trimmed === '=') return Buffer.alloc(0);
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(trimmed)) {
    throw new SaslFailure('incorrect-encoding');
  }
  return Buffer.from(trimmed, 'base64');
}
