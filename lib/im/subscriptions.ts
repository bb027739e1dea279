import xml from '@xmpp/xml';
import type { Services, StanzaContext, XmppModule } from '../router/types.ts';
import { emptyItem, type RosterItem, type Subscription } from '../store/roster.ts';
import { withAttrs } from '../xml/copy.ts';
import { NS } from '../xml/namespaces.ts';
import { sendCurrentPresence, sendUnavailable } from './presence-to.ts';
import { pushRoster } from './roster.ts';

const TYPES = new Set(['subscribe', 'subscribed', 'unsubscribe', 'unsubscribed']);

/**
 * RFC 6121 §3 and Appendix A: the subscription state machine, on both sides. `outbound` is the user's server
 * handling what its client sends; `inbound` is the contact's server handling what arrives. For two local users
 * both run, one after the other; for a remote contact, the other half runs at the other server.
 */
export const subscriptions: XmppModule = {
  name: 'subscriptions',
  specs: [{ spec: 'RFC 6121 §3', title: 'Presence subscriptions, pre-approval (§3.4)' }],
  register(r) {
    r.on('presence/outbound', outbound, 10);
    r.on('presence/bare', inbound, 10);
    r.on('presence/full', inbound, 10); // §3.1.3 etc.: handled at the bare JID
  },
};

const withFrom = (s: Subscription): Subscription => (s === 'to' || s === 'both' ? 'both' : 'from');
const withoutFrom = (s: Subscription): Subscription => (s === 'both' || s === 'to' ? 'to' : 'none');
const withTo = (s: Subscription): Subscription => (s === 'from' || s === 'both' ? 'both' : 'to');
const withoutTo = (s: Subscription): Subscription => (s === 'both' || s === 'from' ? 'from' : 'none');
const hasFrom = (s: Subscription) => s === 'from' || s === 'both';
const hasTo = (s: Subscription) => s === 'to' || s === 'both';

async function save(services: Services, user: string, before: RosterItem | undefined, item: RosterItem): Promise<void> {
  const ver = await services.roster.save(user, item);
  // Only what the client sees is pushed: items in the roster, or leaving it.
  if (item.inRoster || before?.inRoster) await pushRoster(services, user, item, ver);
}

async function outbound(ctx: StanzaContext): Promise<boolean> {
  if (!TYPES.has(ctx.type)) return false;
  const { services } = ctx;
  const user = ctx.from.bare.toString();
  const contact = ctx.to.bare.toString();
  // §3.1.2 etc.: subscription stanzas go from the user's bare JID to the contact's bare JID.
  const stanza = withAttrs(ctx.stanza, { from: user, to: contact });
  const before = await services.roster.get(user, contact);
  const item: RosterItem = { ...(before ?? emptyItem(contact)) };

  switch (ctx.type) {
    case 'subscribe': // §3.1.2
      if (!hasTo(item.subscription) && !item.ask) {
        await save(services, user, before, { ...item, ask: true, inRoster: true });
      }
      await services.route(stanza);
      break;
    case 'subscribed': // §3.1.5: approve a request; §3.4: or pre-approve one
      if (item.pendingIn) {
        await save(services, user, before, { ...item, subscription: withFrom(item.subscription), pendingIn: undefined, inRoster: true });
        await services.route(stanza);
        await sendCurrentPresence(services, user, contact);
      } else if (!hasFrom(item.subscription) && !item.approved) {
        await save(services, user, before, { ...item, approved: true });
      }
      break;
    case 'unsubscribe': // §3.3.2
      if (hasTo(item.subscription) || item.ask) {
        await save(services, user, before, { ...item, subscription: withoutTo(item.subscription), ask: false });
      }
      await services.route(stanza);
      break;
    case 'unsubscribed': // §3.2.2: cancel or deny the contact's subscription
      if (hasFrom(item.subscription) || item.pendingIn || item.approved) {
        await save(services, user, before, { ...item, subscription: withoutFrom(item.subscription), pendingIn: undefined, approved: false });
        if (hasFrom(item.subscription)) await sendUnavailable(services, user, contact);
      }
      await services.route(stanza);
      break;
  }
  return true;
}

async function inbound(ctx: StanzaContext): Promise<boolean> {
  if (!TYPES.has(ctx.type)) return false;
  const { services } = ctx;
  const user = ctx.to.bare.toString();
  const contact = ctx.from.bare.toString();
  const stanza = withAttrs(ctx.stanza, { from: contact, to: user });
  const reply = (type: string) => services.route(xml('presence', { xmlns: NS.client, type, from: user, to: contact }));
  const deliverToUser = async () => {
    for (const session of await services.sessions.list(user)) if (session.available) services.deliver(session, stanza);
  };

  if (!(await services.accounts.get(user))) {
    // §3.1.3: no such user: say the subscription is refused; the rest is ignored.
    if (ctx.type === 'subscribe') await reply('unsubscribed');
    return true;
  }
  const before = await services.roster.get(user, contact);
  const item: RosterItem = { ...(before ?? emptyItem(contact)) };

  switch (ctx.type) {
    case 'subscribe': // §3.1.3
      if (hasFrom(item.subscription)) {
        await reply('subscribed'); // already subscribed: the server answers for the user
      } else if (item.approved) {
        await save(services, user, before, { ...item, subscription: withFrom(item.subscription), approved: false, inRoster: true });
        await reply('subscribed');
        await sendCurrentPresence(services, user, contact);
      } else {
        // Kept until the user answers; delivered now to available resources, else at the next initial presence.
        await save(services, user, before, { ...item, pendingIn: stanza.toString() });
        await deliverToUser();
      }
      break;
    case 'subscribed': // §3.1.6: only an answer to a request the user made counts
      if (item.ask) {
        await save(services, user, before, { ...item, subscription: withTo(item.subscription), ask: false, inRoster: true });
        await deliverToUser();
      }
      break;
    case 'unsubscribe': // §3.3.3: the contact no longer wants the user's presence
      if (hasFrom(item.subscription) || item.pendingIn) {
        await save(services, user, before, { ...item, subscription: withoutFrom(item.subscription), pendingIn: undefined });
        await deliverToUser();
        if (hasFrom(item.subscription)) await sendUnavailable(services, user, contact);
      }
      break;
    case 'unsubscribed': // §3.2.3: the contact cancelled or refused the user's subscription
      if (hasTo(item.subscription) || item.ask) {
        await save(services, user, before, { ...item, subscription: withoutTo(item.subscription), ask: false });
        await deliverToUser();
      }
      break;
  }
  return true;
}
