import xml from '@xmpp/xml';
import { eachLimited } from '../each-limited.ts';
import type { StanzaContext, XmppModule } from '../router/types.ts';
import { withAttrs } from '../xml/copy.ts';
import { NS } from '../xml/namespaces.ts';
import { sendCurrentPresence } from './presence-to.ts';
import { parseStored } from './stored.ts';

/**
 * RFC 6121 §4: a session's presence. Initial presence probes the contacts the user is subscribed to and is
 * broadcast to those subscribed to the user; updates and unavailable presence are broadcast alike; directed
 * presence is remembered so its recipients also learn when the session ends; probes are answered for subscribers.
 * Fires `presence/initial` for what waits for a session to become available (offline messages).
 */
export const presence: XmppModule = {
  name: 'presence',
  specs: [{ spec: 'RFC 6121 §4', title: 'Presence: broadcast, probes, directed presence' }],
  register(r) {
    r.on('presence/broadcast', broadcast);
    r.on('presence/outbound', directed);
    r.on('presence/bare', probe, 5);
    r.on('presence/full', probe, 5);
  },
};

// Contacts routed to at once: each costs a DynamoDB round trip or two; side by side they cost one wait, not N.
const FAN_OUT = 16;

const hasFrom = (s: string) => s === 'from' || s === 'both';
const hasTo = (s: string) => s === 'to' || s === 'both';

async function broadcast(ctx: StanzaContext): Promise<boolean> {
  const { stanza, type, services } = ctx;
  if (type !== 'available' && type !== 'unavailable') return true; // nothing else means anything without `to`
  const user = ctx.from.bare.toString();
  const own = await services.sessions.list(user);
  const self = own.find((s) => s.jid === ctx.from.toString());
  // The session may have been replaced (conflict) or ended: it speaks for nobody any more.
  if (!self || (ctx.originConnectionId && self.connectionId !== ctx.originConnectionId)) return true;
  const { items } = await services.roster.list(user);

  if (type === 'unavailable') {
    if (!self.available) return true;
    const directedTo = self.directed;
    await services.sessions.update(self, { available: false, priority: 0, presence: undefined, directed: [] });
    // §4.5.2: the user's other resources, the subscribers, and whoever got directed presence (§4.6.3).
    for (const session of own) if (session.available && session !== self) services.deliver(session, stanza);
    const targets = new Set([...items.filter((i) => hasFrom(i.subscription)).map((i) => i.jid), ...directedTo]);
    await eachLimited([...targets], FAN_OUT, (to) => services.route(withAttrs(stanza, { to })));
    return true;
  }

  const initial = !self.available;
  // §4.7.2.3: priority is an integer from -128 to 127; absent means 0.
  const priority = clampPriority(stanza.getChildText('priority'));
  await services.sessions.update(self, { available: true, priority, presence: stanza.toString() });
  // §4.2.2, §4.4.2: to every available resource of the user, the sender included, and to the subscribers;
  // §4.3.1: initial presence also probes, from the bare JID, each contact the user is subscribed to.
  for (const session of own) if (session.available) services.deliver(session, stanza);
  const outgoing = items.filter((i) => hasFrom(i.subscription)).map((i) => withAttrs(stanza, { to: i.jid }));
  if (initial) {
    for (const item of items) {
      if (hasTo(item.subscription)) outgoing.push(xml('presence', { xmlns: NS.client, type: 'probe', from: user, to: item.jid }));
    }
  }
  await eachLimited(outgoing, FAN_OUT, (element) => services.route(element));
  if (!initial) return true;

  // §4.2.2: the new resource learns of the user's other available resources.
  for (const session of own) {
    if (session !== self && session.available && session.presence) services.deliver(self, withAttrs(parseStored(session.presence), { to: self.jid }));
  }
  // §3.1.3: subscription requests that came while the user was away.
  for (const item of items) if (item.pendingIn) services.deliver(self, parseStored(item.pendingIn));
  await services.fire('presence/initial', ctx);
  return true;
}

/** §4.6: directed presence from a client; recipients that are not subscribers are remembered for the session. */
async function directed(ctx: StanzaContext): Promise<boolean> {
  if (ctx.type !== 'available' && ctx.type !== 'unavailable') return false;
  const { services } = ctx;
  const self = await services.sessions.get(ctx.from.toString());
  const to = ctx.to.toString();
  if (self) {
    const subscriber = hasFrom((await services.roster.get(ctx.from.bare.toString(), ctx.to.bare.toString()))?.subscription ?? 'none');
    const remembered = self.directed.includes(to);
    if (ctx.type === 'available' && !subscriber && !remembered) await services.sessions.update(self, { directed: [...self.directed, to] });
    if (ctx.type === 'unavailable' && remembered) await services.sessions.update(self, { directed: self.directed.filter((j) => j !== to) });
  }
  await services.route(ctx.stanza);
  return true;
}

/** §4.3.2: a probe is answered by the server, with the last presence of each available resource, for subscribers only. */
async function probe(ctx: StanzaContext): Promise<boolean> {
  if (ctx.type !== 'probe') return false;
  const { services } = ctx;
  const user = ctx.to.bare.toString();
  const prober = ctx.from.bare.toString();
  const item = await services.roster.get(user, prober);
  if (!item || !hasFrom(item.subscription)) {
    // Not a subscriber: reveal nothing, and say so when the account exists.
    if (await services.accounts.get(user)) await services.route(xml('presence', { xmlns: NS.client, type: 'unsubscribed', from: user, to: prober }));
    return true;
  }
  await sendCurrentPresence(services, user, ctx.from.toString());
  return true;
}

function clampPriority(text: string | null): number {
  const value = Number.parseInt(text ?? '0', 10);
  return Number.isNaN(value) ? 0 : Math.max(-128, Math.min(127, value));
}
