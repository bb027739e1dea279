import xml, { type Element } from '@xmpp/xml';
import { JidError, makeJid } from '../jid.ts';
import { errorReply, StanzaError } from '../router/stanza-error.ts';
import { deriveCredentials } from '../sasl/credentials.ts';
import { SaslprepError } from '../sasl/saslprep.ts';
import { AccountExistsError } from '../store/errors.ts';
import type { StreamIO } from '../stream/io.ts';
import { NS } from '../xml/namespaces.ts';

/**
 * XEP-0077 in-band registration before authentication, when the deployment allows it
 * (off by default: open registration invites spam accounts).
 */
export function registrationFeature(): Element {
  return xml('register', { xmlns: NS.registerFeature });
}

export async function handleRegistration(io: StreamIO, iq: Element): Promise<void> {
  try {
    const result = await register(io, iq);
    io.send(xml('iq', { xmlns: NS.client, type: 'result', id: iq.attrs.id }, ...(result ? [result] : [])));
  } catch (error) {
    if (!(error instanceof StanzaError)) throw error;
    const reply = errorReply(iq, error);
    if (reply) io.send(reply);
  }
}

async function register(io: StreamIO, iq: Element): Promise<Element | undefined> {
  const query = iq.getChild('query', NS.register)!;
  if (iq.attrs.type === 'get') {
    // §3.1: the fields to fill in.
    return xml('query', { xmlns: NS.register }, xml('instructions', {}, 'Choose a username and password.'), xml('username'), xml('password'));
  }
  if (iq.attrs.type !== 'set') throw new StanzaError('bad-request');
  const username = query.getChildText('username')?.trim();
  const password = query.getChildText('password') ?? '';
  // §3.1: missing fields are not-acceptable.
  if (!username || !password) throw new StanzaError('not-acceptable', 'username and password are required');
  let bare: string;
  try {
    bare = makeJid(username, io.state.domain!).toString();
  } catch (error) {
    if (error instanceof JidError) throw new StanzaError('jid-malformed', 'invalid username');
    throw error;
  }
  let credentials;
  try {
    credentials = deriveCredentials(password);
  } catch (error) {
    if (error instanceof SaslprepError) throw new StanzaError('not-acceptable', 'invalid password');
    throw error;
  }
  try {
    await io.accounts.create(bare, credentials);
  } catch (error) {
    if (error instanceof AccountExistsError) throw new StanzaError('conflict', 'the username is taken');
    throw error;
  }
  return undefined;
}
