import xml, { type Element } from '@xmpp/xml';
import { tryParseJid } from '../jid.ts';
import { StanzaError } from '../router/stanza-error.ts';
import type { Services, StanzaContext, XmppModule } from '../router/types.ts';
import type { RosterItem } from '../store/roster.ts';
import { NS } from '../xml/namespaces.ts';

const MAX_TEXT_BYTES = 1023;

/** RFC 6121 §2: roster get, set and remove, roster pushes, and versioning (§2.6, XEP-0237). */
export const roster: XmppModule = {
  name: 'roster',
  specs: [
    { spec: 'RFC 6121 §2', title: 'Roster management' },
    { spec: 'XEP-0237', title: 'Roster Versioning', status: 'a changed roster is sent whole' },
  ],
  register(r) {
    r.iq('get', 'bare', NS.roster, get);
    r.iq('set', 'bare', NS.roster, set);
  },
};

/** The roster XML of one item, as results and pushes show it. */
export function itemElement(item: RosterItem | { jid: string; subscription: 'remove' }): Element {
  if (item.subscription === 'remove') return xml('item', { jid: item.jid, subscription: 'remove' });
  const { jid, name, subscription, ask, approved, groups } = item as RosterItem;
  return xml(
    'item',
    { jid, name, subscription, ask: ask ? 'subscribe' : undefined, approved: approved ? 'true' : undefined },
    ...groups.map((group) => xml('group', {}, group)),
  );
}

/** §2.1.6: a roster push to every resource of the user that asked for the roster. */
export async function pushRoster(services: Services, user: string, item: Parameters<typeof itemElement>[0], ver: number): Promise<void> {
  for (const session of await services.sessions.list(user)) {
    if (!session.rosterRequested) continue;
    services.deliver(
      session,
      xml('iq', { xmlns: NS.client, type: 'set', id: `push-${ver}-${Math.random().toString(36).slice(2, 8)}`, to: session.jid },
        xml('query', { xmlns: NS.roster, ver: String(ver) }, itemElement(item))),
    );
  }
}

/** §2.1.5 (and §2.3.3 `forbidden`): a user works on their own roster only. */
function ownRoster(ctx: StanzaContext): string {
  if (!ctx.to.equals(ctx.from.bare)) throw new StanzaError('forbidden', 'only your own roster');
  return ctx.from.bare.toString();
}

async function get(ctx: StanzaContext, query: Element): Promise<Element | undefined> {
  const user = ownRoster(ctx);
  const session = await ctx.services.sessions.get(ctx.from.toString());
  if (session && !session.rosterRequested) await ctx.services.sessions.update(session, { rosterRequested: true });
  const { ver, items } = await ctx.services.roster.list(user);
  // §2.6.3: the client's version is current: an empty result, the changes come as pushes.
  if (query.attrs.ver !== undefined && query.attrs.ver === String(ver)) return undefined;
  return xml('query', { xmlns: NS.roster, ver: String(ver) }, ...items.filter((i) => i.inRoster).map(itemElement));
}

async function set(ctx: StanzaContext, query: Element): Promise<undefined> {
  const user = ownRoster(ctx);
  const items = query.getChildren('item');
  // §2.3.3: exactly one item per set.
  if (items.length !== 1) throw new StanzaError('bad-request', 'a roster set carries exactly one item');
  const element = items[0]!;
  const contact = tryParseJid(element.attrs.jid ?? '');
  if (!contact) throw new StanzaError('bad-request', 'the item needs a valid jid');
  const jid = contact.toString();
  if (element.attrs.subscription === 'remove') return remove(ctx, user, jid);

  const name = element.attrs.name as string | undefined;
  if (name !== undefined && Buffer.byteLength(name) > MAX_TEXT_BYTES) throw new StanzaError('not-acceptable', 'the name is too long');
  const groups = element.getChildren('group').map((group) => group.getText());
  if (groups.some((g) => g === '' || Buffer.byteLength(g) > MAX_TEXT_BYTES)) throw new StanzaError('not-acceptable', 'a group name is empty or too long');
  if (new Set(groups).size !== groups.length) throw new StanzaError('bad-request', 'a group is named twice');

  // Subscription state is the server's: whatever the client says of it is ignored (§2.1.2.5).
  const existing = (await ctx.services.roster.get(user, jid)) ?? { jid, groups: [], subscription: 'none', ask: false, approved: false, inRoster: false };
  const item: RosterItem = { ...existing, name: name || undefined, groups, inRoster: true };
  const ver = await ctx.services.roster.save(user, item);
  await pushRoster(ctx.services, user, item, ver);
  return undefined;
}

/** §2.5: removing a contact also cancels both subscriptions and any pending request. */
async function remove(ctx: StanzaContext, user: string, jid: string): Promise<undefined> {
  const existing = await ctx.services.roster.get(user, jid);
  if (!existing?.inRoster) throw new StanzaError('item-not-found');
  const presence = (type: string) => xml('presence', { xmlns: NS.client, type, from: user, to: jid });
  if (existing.subscription === 'to' || existing.subscription === 'both' || existing.ask) await ctx.services.route(presence('unsubscribe'));
  if (existing.subscription === 'from' || existing.subscription === 'both' || existing.pendingIn) await ctx.services.route(presence('unsubscribed'));
  const ver = await ctx.services.roster.remove(user, jid);
  await pushRoster(ctx.services, user, { jid, subscription: 'remove' }, ver);
  return undefined;
}
