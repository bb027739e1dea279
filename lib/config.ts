/** Everything a Cirrus deployment is configured by; read from the environment in Lambda and locally. */
export interface Config {
  /** The XMPP domains served, already prepared (lowercase). The first is the default. */
  domains: string[];
  tableName: string;
  /** A DynamoDB endpoint other than AWS's (DynamoDB Local, LocalStack). */
  dynamodbEndpoint?: string;
  region?: string;
  /** The API Gateway management API (`@connections`) base URL: https://{api}.execute-api.{region}.amazonaws.com/{stage}. */
  wsEndpoint: string;
  /** XEP-0077 in-band registration. */
  allowRegistration: boolean;
  /** Largest stanza accepted, in bytes of UTF-8; above it `policy-violation` (below API Gateway's 128 KB message limit). */
  maxStanzaBytes: number;
  /** A stream must be bound this long after connecting; a later negotiation step gets `connection-timeout`. */
  negotiationTimeoutMs: number;
  /** XEP-0160: most messages kept per offline user; beyond it the sender gets service-unavailable. */
  offlineLimit: number;
  /** How long an offline message is kept. */
  offlineRetentionDays: number;
  /** The s2s-out SQS FIFO queue: stanzas for other domains go there (unset locally, where an in-process queue is used). */
  s2sQueueUrl?: string;
  /** The federation service's own settings (functions/federation.ts); the Lambda functions ignore them. */
  s2s: S2sConfig;
}

export interface S2sConfig {
  /** RFC 6120 STARTTLS port (S2S_PORT). */
  port: number;
  /** XEP-0368 direct TLS port (S2S_DIRECT_TLS_PORT); none when unset. */
  directTlsPort?: number;
  /** A Secrets Manager secret, JSON {"cert", "key", "dialbackSecret"?} (TLS_SECRET_ARN); else the two files below. */
  tlsSecretArn?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** Extra trust anchors for peer certificates, a PEM file (TLS_CA_FILE). */
  tlsCaFile?: string;
  /** Accept a peer whose certificate fails PKIX through dialback (S2S_ALLOW_DIALBACK_WITH_INVALID_CERT). */
  allowDialbackWithInvalidCert: boolean;
  /** Static routes, bypassing DNS (S2S_ROUTES). */
  routes: Record<string, S2sRoute>;
  /** GET /health answers here (HEALTH_PORT). */
  healthPort: number;
}

export interface S2sRoute {
  host: string;
  port: number;
}

export const DEFAULT_S2S_PORT = 5269;

export const DEFAULT_MAX_STANZA_BYTES = 64 * 1024;
export const DEFAULT_NEGOTIATION_TIMEOUT_MS = 60_000;

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  const required = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`environment variable ${name} is not set`);
    return value;
  };
  return {
    domains: required('XMPP_DOMAINS')
      .split(',')
      .map((d) => d.trim().toLowerCase())
      .filter(Boolean),
    tableName: required('TABLE_NAME'),
    dynamodbEndpoint: env.DYNAMODB_ENDPOINT || undefined,
    region: env.AWS_REGION || undefined,
    wsEndpoint: required('WS_ENDPOINT'),
    allowRegistration: env.ALLOW_REGISTRATION === 'true',
    maxStanzaBytes: Number(env.MAX_STANZA_BYTES) || DEFAULT_MAX_STANZA_BYTES,
    negotiationTimeoutMs: Number(env.NEGOTIATION_TIMEOUT_MS) || DEFAULT_NEGOTIATION_TIMEOUT_MS,
    offlineLimit: Number(env.OFFLINE_LIMIT) || 1000,
    offlineRetentionDays: Number(env.OFFLINE_RETENTION_DAYS) || 30,
    s2sQueueUrl: env.S2S_QUEUE_URL || undefined,
    s2s: {
      port: env.S2S_PORT ? portNumber('S2S_PORT', env.S2S_PORT) : DEFAULT_S2S_PORT,
      directTlsPort: env.S2S_DIRECT_TLS_PORT ? portNumber('S2S_DIRECT_TLS_PORT', env.S2S_DIRECT_TLS_PORT) : undefined,
      tlsSecretArn: env.TLS_SECRET_ARN || undefined,
      tlsCertFile: env.TLS_CERT_FILE || undefined,
      tlsKeyFile: env.TLS_KEY_FILE || undefined,
      tlsCaFile: env.TLS_CA_FILE || undefined,
      // Many servers on the network still rely on dialback with self-signed certificates (issue #5 part 4).
      allowDialbackWithInvalidCert: env.S2S_ALLOW_DIALBACK_WITH_INVALID_CERT !== 'false',
      routes: parseRoutes(env.S2S_ROUTES ?? ''),
      healthPort: env.HEALTH_PORT ? portNumber('HEALTH_PORT', env.HEALTH_PORT) : 8080,
    },
  };
}

function portNumber(name: string, text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new Error(`${name}: not a port number: ${text}`);
  return port;
}

/** `example.net=host:port,other.org=[::1]:5269` (the port defaults to 5269) → routes by lowercase domain. */
export function parseRoutes(text: string): Record<string, S2sRoute> {
  const routes: Record<string, S2sRoute> = {};
  for (const entry of text.split(',').map((e) => e.trim()).filter(Boolean)) {
    const match = /^([^=\s]+)=(?:\[([^\]]+)\]|([^:\s[\]]+))(?::(\d+))?$/.exec(entry);
    if (!match) throw new Error(`not a route (domain=host:port): ${entry}`);
    const [, domain, ipv6, host, port] = match;
    routes[domain!.toLowerCase()] = {
      host: (ipv6 ?? host)!,
      port: port === undefined ? DEFAULT_S2S_PORT : portNumber(`route ${domain}`, port),
    };
  }
  return routes;
}
