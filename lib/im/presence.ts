import type { StanzaContext, XmppModule } from '../router/types.ts';

/**
 * RFC 6121 §4.2, §4.5: a session's own available / unavailable presence (no `to`).
 * Records availability and priority (which decide bare-JID delivery, §8.5.2) and broadcasts
 * to the user's own available resources, the sender included (§4.2.2). Contacts come with the roster.
 */
export const presence: XmppModule = {
  name: 'presence',
  specs: [{ spec: 'RFC 6121 §4', title: 'Presence', status: 'partial: own resources only, no roster yet' }],
  register(r) {
    r.on('presence/broadcast', broadcast, -1000);
  },
};

async function broadcast(ctx: StanzaContext): Promise<boolean> {
  const { stanza, type, services } = ctx;
  if (type !== 'available' && type !== 'unavailable') return true; // subscription states without `to` mean nothing (§3)
  const own = await services.sessions.list(ctx.from.bare.toString());
  const self = own.find((s) => s.jid === ctx.from.toString());
  if (!self) return true;
  const available = type === 'available';
  // §4.7.2.3: priority is an integer from -128 to 127; absent means 0.
  const priority = available ? clampPriority(stanza.getChildText('priority')) : 0;
  await services.sessions.setPresence(self, { available, priority, xml: available ? stanza.toString() : undefined });
  for (const session of own) {
    if (session.available || session === self) services.deliver(session, stanza);
  }
  return true;
}

function clampPriority(text: string | null): number {
  const value = Number.parseInt(text ?? '0', 10);
  return Number.isNaN(value) ? 0 : Math.max(-128, Math.min(127, value));
}
