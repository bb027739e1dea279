/**
 * The names of CirrusStack's outputs. `npx cirrus … --stack NAME` reads them (infra/cli/stack.ts), so they live
 * here, apart from the stack, and the CLI does not load the CDK.
 */
export const OUTPUTS = {
  webSocketUrl: 'WebSocketUrl',
  tableName: 'TableName',
  domains: 'XmppDomains',
  federationEndpoint: 'FederationEndpoint',
  tlsSecret: 'FederationTlsSecret',
  federationService: 'FederationService',
  dnsRecords: 'DnsRecords',
  hostMeta: 'HostMeta',
} as const;
