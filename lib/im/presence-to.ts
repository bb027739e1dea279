import xml from '@xmpp/xml';
import type { Services } from '../router/types.ts';
import { NS } from '../xml/namespaces.ts';
import { parseStored } from './stored.ts';

/** Sends the last presence of each of the user's available resources to `to` (RFC 6121 §3.1.5, §4.3.2). */
export async function sendCurrentPresence(services: Services, user: string, to: string): Promise<void> {
  for (const session of await services.sessions.list(user)) {
    if (!session.available || !session.presence) continue;
    const presence = parseStored(session.presence);
    presence.attrs.to = to;
    await services.route(presence);
  }
}

/** Sends unavailable presence from each of the user's available resources to `to` (RFC 6121 §3.2.2, §3.3.3). */
export async function sendUnavailable(services: Services, user: string, to: string): Promise<void> {
  for (const session of await services.sessions.list(user)) {
    if (session.available) await services.route(xml('presence', { xmlns: NS.client, type: 'unavailable', from: session.jid, to }));
  }
}
