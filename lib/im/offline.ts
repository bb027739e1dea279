import xml from '@xmpp/xml';
import { StanzaError } from '../router/stanza-error.ts';
import type { StanzaContext, XmppModule } from '../router/types.ts';
import { OfflineFullError } from '../store/offline.ts';
import { NS } from '../xml/namespaces.ts';
import { parseStored } from './stored.ts';

const CHAT_STATES = 'http://jabber.org/protocol/chatstates';
const HINTS = 'urn:xmpp:hints';

/**
 * XEP-0160: a chat or normal message for a user with no available resource is stored, and delivered with a
 * XEP-0203 delay when the user next sends initial presence with non-negative priority. Storage is capped per user;
 * beyond the cap the sender gets service-unavailable, so nothing is lost silently.
 */
export const offline: XmppModule = {
  name: 'offline',
  specs: [
    { spec: 'XEP-0160', title: 'Best Practices for Handling Offline Messages' },
    { spec: 'XEP-0203', title: 'Delayed Delivery', status: 'on offline messages' },
  ],
  register(r) {
    r.feature('msgoffline');
    r.on('message/offline', store);
    r.on('presence/initial', flush);
  },
};

async function store(ctx: StanzaContext): Promise<boolean> {
  const { stanza } = ctx;
  if (ctx.type !== 'chat' && ctx.type !== 'normal') return false;
  // Only what carries content: a lone chat state is news of the moment (XEP-0085 §5.6); XEP-0334 no-store is obeyed.
  const content = stanza.getChildElements().filter((c) => c.getNS() !== CHAT_STATES && c.getNS() !== HINTS);
  if (content.length === 0 || stanza.getChild('no-store', HINTS)) return true;
  try {
    await ctx.services.offline.store(ctx.to.bare.toString(), stanza.toString());
  } catch (error) {
    if (error instanceof OfflineFullError) throw new StanzaError('service-unavailable', 'the recipient is offline and their message store is full');
    throw error;
  }
  return true;
}

async function flush(ctx: StanzaContext): Promise<boolean> {
  const { services } = ctx;
  const self = await services.sessions.get(ctx.from.toString());
  if (!self || self.priority < 0) return false; // XEP-0160 §4: only to a resource that takes bare-JID messages
  const user = ctx.from.bare.toString();
  const messages = await services.offline.list(user);
  for (const message of messages) {
    const stanza = parseStored(message.stanza);
    stanza.cnode(xml('delay', { xmlns: NS.delay, from: ctx.from.domain, stamp: new Date(message.storedAt).toISOString() }, 'Offline Storage'));
    services.deliver(self, stanza);
  }
  // If the resource turns out gone when these are posted, each is routed again, and so stored again.
  await services.offline.remove(user, messages.map((m) => m.sk));
  return false;
}
