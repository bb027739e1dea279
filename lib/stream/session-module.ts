import { NS } from '../xml/namespaces.ts';
import type { XmppModule } from '../router/types.ts';

/** RFC 3921 §3 session establishment, a no-op kept for older clients (RFC 6121 Appendix E). */
export const legacySession: XmppModule = {
  name: 'session',
  specs: [{ spec: 'RFC 3921 §3', title: 'Session establishment (legacy, optional)' }],
  register(r) {
    r.iq('set', 'host', NS.session, () => undefined);
    r.iq('set', 'bare', NS.session, () => undefined);
  },
};
