import { NS } from '../xml/namespaces.ts';
import type { XmppModule } from '../router/types.ts';

/** XEP-0199: a ping to the server gets an empty result (§4.2). */
export const ping: XmppModule = {
  name: 'ping',
  specs: [{ spec: 'XEP-0199', title: 'XMPP Ping' }],
  register(r) {
    r.feature(NS.ping);
    r.iq('get', 'host', NS.ping, () => undefined);
  },
};
