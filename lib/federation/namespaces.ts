/** Namespaces of server-to-server streams (RFC 6120, XEP-0220). */
export const S2S_NS = {
  server: 'jabber:server',
  client: 'jabber:client',
  stream: 'http://etherx.jabber.org/streams',
  streams: 'urn:ietf:params:xml:ns:xmpp-streams',
  tls: 'urn:ietf:params:xml:ns:xmpp-tls',
  sasl: 'urn:ietf:params:xml:ns:xmpp-sasl',
  stanzas: 'urn:ietf:params:xml:ns:xmpp-stanzas',
  dialback: 'jabber:server:dialback',
  dialbackFeature: 'urn:xmpp:features:dialback',
} as const;
