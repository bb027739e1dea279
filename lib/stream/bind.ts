import { randomBytes } from 'node:crypto';
import xml, { type Element } from '@xmpp/xml';
import { JidError, makeJid, parseJid } from '../jid.ts';
import { errorReply, StanzaError } from '../router/stanza-error.ts';
import { NS } from '../xml/namespaces.ts';
import type { StreamIO } from './io.ts';
import { StreamError, streamErrorElement } from './stream-error.ts';

/**
 * Features after authentication: bind; the RFC 3921 session as optional (RFC 6121 Appendix E) for older clients;
 * roster versioning (RFC 6121 §2.6.1) and subscription pre-approval (§3.4.1).
 */
export function boundFeatures(): Element[] {
  return [
    xml('bind', { xmlns: NS.bind }),
    xml('session', { xmlns: NS.session }, xml('optional')),
    xml('ver', { xmlns: 'urn:xmpp:features:rosterver' }),
    xml('sub', { xmlns: 'urn:xmpp:features:pre-approval' }),
  ];
}

/** An IQ on an authenticated stream before binding: only bind (RFC 6120 §7) and session may come now. */
export async function handleBind(io: StreamIO, iq: Element): Promise<void> {
  const bind = iq.getChild('bind', NS.bind);
  if (iq.attrs.type === 'set' && iq.getChild('session', NS.session)) {
    return io.send(xml('iq', { xmlns: NS.client, type: 'result', id: iq.attrs.id }));
  }
  if (iq.attrs.type !== 'set' || !bind) throw new StreamError('not-authorized', 'bind a resource first');

  const user = parseJid(io.state.user!);
  let jid;
  try {
    // §7.7.2.1: a resource that fails preparation is bad-request; without one, the server makes one up.
    const wanted = bind.getChildText('resource')?.trim();
    jid = makeJid(user.local, user.domain, wanted || randomBytes(9).toString('base64url'));
  } catch (error) {
    if (!(error instanceof JidError)) throw error;
    const reply = errorReply(iq, new StanzaError('bad-request', 'invalid resource'));
    return reply && io.send(reply);
  }

  const full = jid.toString();
  const replaced = await io.sessions.bind({
    jid: full,
    connectionId: io.state.id,
    available: false,
    priority: 0,
    rosterRequested: false,
    directed: [],
    boundAt: Date.now(),
  });
  if (replaced && replaced.connectionId !== io.state.id) {
    // §7.7.2.2: the newer session wins; the older one ends with a conflict stream error.
    io.out.send(replaced.connectionId, streamErrorElement('conflict', 'replaced by a new session'));
    io.out.send(replaced.connectionId, xml('close', { xmlns: NS.framing }));
    io.out.close(replaced.connectionId);
  }
  io.state.jid = full;
  io.send(xml('iq', { xmlns: NS.client, type: 'result', id: iq.attrs.id }, xml('bind', { xmlns: NS.bind }, xml('jid', {}, full))));
}
