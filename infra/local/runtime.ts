import { mkdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { createConnectHandler } from '../../functions/connect.ts';
import { createStanzaHandler } from '../../functions/stanza.ts';
import { configFromEnv, type Config } from '../../lib/config.ts';
import { createDb } from '../../lib/store/client.ts';
import { ensureTable } from '../../lib/store/create-table.ts';
import { DEFAULT_TABLE_NAME } from '../../lib/store/table.ts';
import { startDynamoDbLocal, type DynamoDbLocal } from './dynamodb.ts';
import { startGateway, urlHost, type Gateway } from './gateway.ts';

export interface LocalOptions {
  domains: string[];
  host: string;
  /** 0: any free port. */
  port: number;
  /** Where DynamoDB Local keeps its data; in memory when absent. */
  dataDir?: string;
  /** Use this DynamoDB instead of starting DynamoDB Local. */
  dynamodbEndpoint?: string;
  tableName?: string;
  allowRegistration?: boolean;
  idleTimeoutMs?: number;
  maxConnectionMs?: number;
  /** Settings beyond the environment's (tests shorten timeouts with it). */
  config?: Partial<Config>;
}

export interface LocalRuntime {
  /** The WebSocket URL clients connect to. */
  url: string;
  /** The `@connections` endpoint. */
  endpoint: string;
  config: Config;
  /** pid: the DynamoDB Local Java process, when this runtime started it. */
  dynamodb: { endpoint: string; pid?: number };
  stop(): Promise<void>;
}

/** The whole local domain in this process: DynamoDB (Local), the table, the gateway, and the real handlers. */
export async function startLocal(options: LocalOptions): Promise<LocalRuntime> {
  if (!options.domains.some((domain) => domain.trim())) throw new Error('no XMPP domain given');
  // DynamoDB Local runs in its package's directory: a relative data directory must be made absolute here.
  const dataDir = options.dataDir === undefined ? undefined : resolve(options.dataDir);
  if (dataDir && !options.dynamodbEndpoint) await mkdir(dataDir, { recursive: true });
  const dynamo: DynamoDbLocal | undefined = options.dynamodbEndpoint ? undefined : await startDynamoDbLocal({ dataDir });
  const dynamodbEndpoint = options.dynamodbEndpoint ?? dynamo!.endpoint;
  let gateway: Gateway | undefined;
  const stop = async () => {
    try {
      await gateway?.close();
    } finally {
      await dynamo?.stop();
    }
  };
  try {
    const tableName = options.tableName ?? DEFAULT_TABLE_NAME;
    await ensureTable(createDb({ endpoint: dynamodbEndpoint, tableName }));
    // The handlers need the gateway's endpoint, known only once it listens (port 0); no event arrives before.
    let connect: ReturnType<typeof createConnectHandler>;
    let stanza: ReturnType<typeof createStanzaHandler>;
    gateway = await startGateway({
      host: options.host,
      port: options.port,
      path: WEBSOCKET_PATH,
      connect: (event) => connect(event),
      stanza: (event) => stanza(event),
      idleTimeoutMs: options.idleTimeoutMs,
      maxConnectionMs: options.maxConnectionMs,
      http: hostMeta,
    });
    // Through the Lambda functions' own environment reader: same parsing, same defaults for the rest.
    const config = configFromEnv({
      XMPP_DOMAINS: options.domains.join(','),
      TABLE_NAME: tableName,
      DYNAMODB_ENDPOINT: dynamodbEndpoint,
      AWS_REGION: 'local',
      WS_ENDPOINT: gateway.endpoint,
      ALLOW_REGISTRATION: String(options.allowRegistration ?? false),
    });
    Object.assign(config, options.config);
    connect = createConnectHandler(config);
    stanza = createStanzaHandler(config);
    return {
      url: gateway.url,
      endpoint: gateway.endpoint,
      config,
      dynamodb: { endpoint: dynamodbEndpoint, pid: dynamo?.pid },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

const WEBSOCKET_PATH = '/xmpp-websocket';

/**
 * XEP-0156 discovery of the WebSocket endpoint. The URL is built from the request's Host header:
 * that is the name the client reached us by, whatever address we listen on.
 */
function hostMeta(req: IncomingMessage, res: ServerResponse): boolean {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (req.method !== 'GET' || (path !== '/.well-known/host-meta' && path !== '/.well-known/host-meta.json')) return false;
  const host = req.headers.host ?? `${urlHost(req.socket.localAddress ?? '')}:${req.socket.localPort}`;
  const href = `ws://${host}${WEBSOCKET_PATH}`;
  const rel = 'urn:xmpp:alt-connections:websocket';
  const [type, body] = path.endsWith('.json')
    ? ['application/json', JSON.stringify({ links: [{ rel, href }] })]
    : [
        'application/xrd+xml',
        `<?xml version='1.0' encoding='utf-8'?>\n<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n` +
          `  <Link rel='${rel}' href='${escapeXml(href)}'/>\n</XRD>\n`,
      ];
  // Web clients on other origins read it too.
  res.writeHead(200, { 'content-type': type, 'access-control-allow-origin': '*' }).end(body);
  return true;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/'/g, '&apos;').replace(/</g, '&lt;');
}
