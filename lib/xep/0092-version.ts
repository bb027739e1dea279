import xml from '@xmpp/xml';
import { NS } from '../xml/namespaces.ts';
import type { XmppModule } from '../router/types.ts';
import { SERVER_NAME, SERVER_VERSION } from '../version.ts';

/** XEP-0092: name and version; the OS is left out (§5: it helps attackers more than users). */
export const version: XmppModule = {
  name: 'version',
  specs: [{ spec: 'XEP-0092', title: 'Software Version' }],
  register(r) {
    r.feature(NS.version);
    r.iq('get', 'host', NS.version, () =>
      xml('query', { xmlns: NS.version }, xml('name', {}, SERVER_NAME), xml('version', {}, SERVER_VERSION)),
    );
  },
};
