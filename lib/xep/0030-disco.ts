import xml from '@xmpp/xml';
import { NS } from '../xml/namespaces.ts';
import { StanzaError } from '../router/stanza-error.ts';
import type { XmppModule } from '../router/types.ts';

/** XEP-0030: the server's identity and features are the fold of every registered module. */
export const disco: XmppModule = {
  name: 'disco',
  specs: [{ spec: 'XEP-0030', title: 'Service Discovery' }],
  register(r) {
    r.feature(NS.discoInfo, NS.discoItems);
    r.identity({ category: 'server', type: 'im', name: 'Cirrus' });
    r.iq('get', 'host', NS.discoInfo, (ctx, query) => {
      // A node we don't have is item-not-found (XEP-0030 §3.1); the server has no nodes yet.
      if (query.attrs.node) throw new StanzaError('item-not-found');
      const { identities, features } = ctx.services.disco();
      return xml(
        'query',
        { xmlns: NS.discoInfo },
        ...identities.map((i) => xml('identity', { category: i.category, type: i.type, name: i.name })),
        ...features.map((f) => xml('feature', { var: f })),
      );
    });
    r.iq('get', 'host', NS.discoItems, (_ctx, query) => {
      if (query.attrs.node) throw new StanzaError('item-not-found');
      return xml('query', { xmlns: NS.discoItems });
    });
  },
};
