import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { createConnectHandler } from '../../functions/connect.ts';
import { createStanzaHandler } from '../../functions/stanza.ts';
import { configFromEnv, type Config, type S2sRoute } from '../../lib/config.ts';
import { selfSignedCertificate } from '../../lib/federation/certificates.ts';
import { createFederation, type Federation, type FederationOptions } from '../../lib/federation/federation.ts';
import { createXmppServer, type S2sQueue } from '../../lib/server.ts';
import { createDb } from '../../lib/store/client.ts';
import { ensureTable } from '../../lib/store/create-table.ts';
import { DEFAULT_TABLE_NAME } from '../../lib/store/table.ts';
import type { AwsCallTotals } from '../../lib/metrics/aws-calls.ts';
import { createInProcessS2sQueue, type InProcessS2sQueue } from '../../lib/transport/s2s-queue.ts';
import { startDynamoDbLocal, type DynamoDbLocal } from './dynamodb.ts';
import { startGateway, urlHost, type Gateway } from './gateway.ts';
import { localAwsCallTotals, resetLocalAwsCallTotals, startHandlerWorkers, type HandlerWorkers } from './handler-workers.ts';

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
  /** Federation (server-to-server, issue #5) in this process; off when absent. */
  s2s?: LocalS2sOptions;
  /** Instead: hand stanzas for other domains to this queue (tests of the AWS path, where the federation is a service of its own). */
  s2sQueue?: S2sQueue;
  /**
   * Run the connect and stanza handlers in this many worker threads, as Lambda runs them in containers of
   * their own; 0 (default): in this thread. With workers, `config` must be plain data (it is copied to them).
   */
  workers?: number;
}

export interface LocalS2sOptions {
  /** Default: the runtime's `host`. */
  host?: string;
  /** 0: any free port. */
  port: number;
  /** PEM certificate and key for our domains; default: a self-signed one made at start. */
  tls?: { cert: string; key: string };
  /** Extra trust anchors for peer certificates (PEM), added to the system CAs. */
  ca?: string[];
  /** Static routes: these domains are reached at host:port, without DNS. */
  routes?: Record<string, S2sRoute>;
  /** Default true: locally, peers with self-signed certificates may authenticate by dialback. */
  allowDialbackWithInvalidCert?: boolean;
  /** Protocol tuning beyond the above (tests shorten the retry window with it). */
  federation?: Partial<FederationOptions>;
}

/** The s2s port is taken (another XMPP server, or a second Cirrus). */
export class S2sPortInUseError extends Error {
  override name = 'S2sPortInUseError';
}

export interface LocalRuntime {
  /** The WebSocket URL clients connect to. */
  url: string;
  /** The `@connections` endpoint. */
  endpoint: string;
  config: Config;
  /** pid: the DynamoDB Local Java process, when this runtime started it. */
  dynamodb: { endpoint: string; pid?: number };
  /** Where the federation listens, and whether its certificate was made at start; absent when it is off. */
  s2s?: { host: string; port: number; selfSigned: boolean; federation: Federation; queue: InProcessS2sQueue };
  /** The AWS call counter (lib/metrics/aws-calls.ts) of this thread and the handler workers together. */
  awsCalls: { totals(): Promise<AwsCallTotals>; reset(): Promise<void> };
  /** With `workers`: V8 CPU profiles of the handler threads (this thread's own is the caller's to take). */
  workerProfiler?: HandlerWorkers['profiler'];
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
  let federation: Federation | undefined;
  let workers: HandlerWorkers | undefined;
  const stop = async () => {
    try {
      // The gateway drains its queue first: the workers are still needed until then.
      await gateway?.close();
      await workers?.close();
      await federation?.close();
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
    let s2s: LocalRuntime['s2s'];
    if (options.s2s) {
      const started = await startLocalFederation(config, options.host, options.s2s);
      ({ federation } = started);
      s2s = started;
    }
    const s2sQueue = options.s2sQueue ?? s2s?.queue;
    if (options.workers) {
      workers = await startHandlerWorkers(options.workers, config, s2sQueue);
      ({ connect, stanza } = workers);
    } else {
      connect = createConnectHandler(config, { s2s: s2sQueue });
      stanza = createStanzaHandler(config, { s2s: s2sQueue });
    }
    return {
      url: gateway.url,
      endpoint: gateway.endpoint,
      config,
      dynamodb: { endpoint: dynamodbEndpoint, pid: dynamo?.pid },
      s2s,
      awsCalls: { totals: () => localAwsCallTotals(workers), reset: () => resetLocalAwsCallTotals(workers) },
      workerProfiler: workers?.profiler,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

const WEBSOCKET_PATH = '/xmpp-websocket';

/**
 * The federation service as functions/federation.ts runs it in AWS, but in this process: the in-process s2s
 * queue feeds Federation.send, inbound stanzas go through the same core as the handlers.
 */
async function startLocalFederation(config: Config, defaultHost: string, options: LocalS2sOptions) {
  const host = options.host ?? defaultHost;
  const tls = options.tls ?? (await selfSignedCertificate(config.domains));
  let federation: Federation | undefined;
  const queue = createInProcessS2sQueue((stanza) => federation!.send(stanza));
  const server = createXmppServer(config, { s2s: queue });
  federation = createFederation(
    {
      domains: config.domains,
      tls: { ...tls, ca: options.ca },
      allowDialbackWithInvalidCert: options.allowDialbackWithInvalidCert ?? true,
      // One process: a fresh secret per start is enough (XEP-0185 keys only need to outlive a dialback round).
      dialbackSecret: randomBytes(32).toString('hex'),
      routes: options.routes,
      maxStanzaBytes: config.maxStanzaBytes,
      ...options.federation,
    },
    { deliver: (stanza) => server.inbound(stanza) },
  );
  try {
    const { port } = await federation.listen({ host, port: options.port });
    return { host, port, selfSigned: !options.tls, federation, queue };
  } catch (error) {
    await federation.close().catch(() => undefined);
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new S2sPortInUseError(
        `the s2s port ${host.includes(':') ? `[${host}]` : host}:${options.port} is already in use (another XMPP server?): ` +
          'choose another with --s2s-port, or turn federation off with --s2s-port 0',
      );
    }
    throw error;
  }
}

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
