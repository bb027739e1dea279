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
}

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
  };
}
