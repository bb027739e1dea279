import type { XmppModule } from './router/types.ts';
import { MODULES } from './server.ts';

type Spec = XmppModule['specs'][number];

/** What the stream layer implements outside the router's modules. */
export const CORE_SPECS: Spec[] = [
  { spec: 'RFC 6120', title: 'XMPP Core: streams, SASL, resource binding, stanza routing, stream and stanza errors', status: 'client-to-server (WebSocket) and server-to-server on 5269' },
  { spec: 'RFC 7395', title: 'XMPP over WebSocket' },
  { spec: 'RFC 7622', title: 'XMPP address format', status: 'PRECIS profiles approximated with Unicode properties' },
  { spec: 'RFC 5802, RFC 7677', title: 'SASL SCRAM-SHA-1, SCRAM-SHA-256', status: 'no -PLUS (TLS ends at API Gateway)' },
  { spec: 'RFC 4616', title: 'SASL PLAIN' },
  { spec: 'XEP-0077', title: 'In-Band Registration', status: 'account creation only; off unless --allow-registration' },
  { spec: 'XEP-0220, XEP-0185', title: 'Server Dialback (both roles, multiplexed domains)', status: 'when a peer\'s certificate is not valid for it' },
  { spec: 'XEP-0178', title: 'SASL EXTERNAL between servers (PKIX certificates)' },
  { spec: 'XEP-0368', title: 'SRV records for XMPP over TLS', status: 'outbound; inbound direct TLS on 5270 in AWS' },
  { spec: 'XEP-0156', title: 'Discovering Alternative XMPP Connection Methods (host-meta)', status: 'local runtime' },
];

/** The README's feature table, from the same metadata that disco#info folds. */
export function featureTable(modules: XmppModule[] = MODULES): string {
  const rows = [...CORE_SPECS, ...modules.flatMap((m) => m.specs)].map(
    (s) => `| ${s.spec} | ${s.title} | ${s.status ?? 'yes'} |`,
  );
  return ['| Specification | What | Status |', '|---|---|---|', ...rows].join('\n');
}

if (process.argv[1]?.endsWith('features.ts')) console.log(featureTable());
