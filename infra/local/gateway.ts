import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { APIGatewayProxyResultV2, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { WebSocket, WebSocketServer } from 'ws';
import type { ConnectEvent } from '../../functions/connect.ts';

/**
 * A local stand-in for API Gateway's WebSocket API, its SQS FIFO integration and the SQS → Lambda
 * event source mapping: the same event shapes reach the same handlers, and the `@connections`
 * management API answers the AWS SDK on the same port.
 */
export interface GatewayOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  path?: string;
  connect: (event: ConnectEvent) => Promise<APIGatewayProxyResultV2>;
  stanza: (event: SQSEvent) => Promise<SQSBatchResponse | void>;
  idleTimeoutMs?: number;
  maxConnectionMs?: number;
  /** A bigger message closes the socket with 1009 and is not delivered, as in API Gateway. */
  maxMessageBytes?: number;
  batchSize?: number;
  /** Stanza handler invocations in flight at once. */
  concurrency?: number;
  /** Deliveries of a record before it goes to the (logged) dead-letter queue. */
  maxReceiveCount?: number;
  /** Extra HTTP routes (host-meta…); returns true when it answered. */
  http?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export interface Gateway {
  /** ws://host:port/xmpp-websocket */
  url: string;
  /** http://host:port, the `@connections` endpoint. */
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

// API Gateway's quotas, and the Lambda SQS batch size.
const DEFAULTS = {
  path: '/xmpp-websocket',
  idleTimeoutMs: 10 * 60_000,
  maxConnectionMs: 2 * 3600_000,
  maxMessageBytes: 128 * 1024,
  batchSize: 10,
  concurrency: 4,
  maxReceiveCount: 5,
};

const CONNECTIONS = '/@connections/';

interface Connection {
  ws: WebSocket;
  connectedAt: Date;
  lastActiveAt: Date;
  sourceIp: string;
  userAgent: string;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const settings = { ...DEFAULTS, ...definedOnly(options) };
  const connections = new Map<string, Connection>();
  const connecting = new Set<Promise<void>>();
  const protocolOf = new WeakMap<IncomingMessage, string | false>();
  let closing = false;

  const queue = new FifoQueue({ ...settings, deliver: options.stanza });
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    maxPayload: settings.maxMessageBytes,
    // The subprotocol is whatever the $connect handler answered, not ws's first pick.
    handleProtocols: (_offered, req) => protocolOf.get(req) ?? false,
  });
  const server = createServer();

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node removes its own error listener from upgraded sockets: a client reset must not crash us.
    socket.on('error', () => socket.destroy());
    if (pathOf(req) !== settings.path) return refuse(socket, 404);
    if (closing) return refuse(socket, 503, 'shutting down');
    const upgrading = upgrade(req, socket, head)
      .catch((error) => {
        log('error', 'upgrade failed', { error: String(error) });
        socket.destroy();
      })
      .finally(() => connecting.delete(upgrading));
    connecting.add(upgrading);
  });

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    const connectionId = apiGatewayId();
    const event = connectEvent(req, connectionId, server.address() as AddressInfo);
    const { status, protocol, body } = await invokeConnect(options.connect, event);
    if (status < 200 || status > 299) return refuse(socket, status, body);
    protocolOf.set(req, protocol ?? false);
    if (closing) refuse(socket, 503, 'shutting down');
    // handleUpgrade is synchronous: by its return the socket is open, or was refused or found dead.
    else wss.handleUpgrade(req, socket, head, (ws) => open(ws, connectionId, event));
    // Every accepted $connect gets exactly one $disconnect, even when the handshake never completed.
    if (!connections.has(connectionId)) queue.send(connectionId, sqsRecord(connectionId, 'DISCONNECT', 'DISCONNECT'));
  }

  function open(ws: WebSocket, connectionId: string, event: LocalConnectEvent) {
    const now = new Date();
    const { sourceIp, userAgent } = event.requestContext.identity;
    const connection: Connection = { ws, connectedAt: now, lastActiveAt: now, sourceIp, userAgent };
    connections.set(connectionId, connection);
    const expire = () => void closeSocket(ws, 1001, 'Going away');
    const idle = setTimeout(expire, settings.idleTimeoutMs);
    const lifetime = setTimeout(expire, settings.maxConnectionMs);
    ws.on('message', (data) => {
      connection.lastActiveAt = new Date();
      idle.refresh();
      // Binary frames too: API Gateway passes them on, and XMPP only has text. binaryType 'nodebuffer': one Buffer.
      queue.send(connectionId, sqsRecord(connectionId, 'MESSAGE', (data as Buffer).toString('utf8')));
    });
    // ws reports oversized messages (1009) and protocol errors here, then closes.
    ws.on('error', () => undefined);
    // The connection stays listed until its socket is closed, so close() can wait for it; once closing, @connections says 410.
    ws.on('close', () => {
      clearTimeout(idle);
      clearTimeout(lifetime);
      connections.delete(connectionId);
      queue.send(connectionId, sqsRecord(connectionId, 'DISCONNECT', 'DISCONNECT'));
    });
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = pathOf(req);
    if (path.startsWith(CONNECTIONS)) {
      manage(req, res, path.slice(CONNECTIONS.length)).catch((error) => {
        log('error', '@connections request failed', { error: String(error) });
        if (!res.headersSent) res.writeHead(500).end();
      });
    } else if (!options.http?.(req, res)) res.writeHead(404).end();
  });

  async function manage(req: IncomingMessage, res: ServerResponse, encodedId: string) {
    const body = await readBody(req);
    const connectionId = safeDecode(encodedId);
    const connection = connectionId === undefined ? undefined : connections.get(connectionId);
    if (!connection || connection.ws.readyState !== WebSocket.OPEN) return awsError(res, 410, 'GoneException', 'Gone');
    if (req.method === 'POST') {
      if (body.length > settings.maxMessageBytes) return awsError(res, 413, 'PayloadTooLargeException', 'Payload too large');
      connection.ws.send(body, { binary: false });
      return void res.writeHead(200).end();
    }
    if (req.method === 'GET') {
      const { connectedAt, lastActiveAt, sourceIp, userAgent } = connection;
      // The wire names are camelCase; the SDK maps them to ConnectedAt, Identity, LastActiveAt.
      const info = { connectedAt, lastActiveAt, identity: { sourceIp, userAgent } };
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(info));
    }
    if (req.method === 'DELETE') {
      void closeSocket(connection.ws, 1000);
      return void res.writeHead(204).end();
    }
    awsError(res, 405, 'BadRequestException', `${req.method} is not supported`);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => (server.off('error', reject), resolve()));
  });
  const { port } = server.address() as AddressInfo;
  const origin = `${urlHost(options.host)}:${port}`;

  async function shutdown() {
    // New upgrades are refused; @connections keeps answering until the handlers still running are done.
    closing = true;
    await Promise.all(connecting);
    await Promise.all([...connections.values()].map(({ ws }) => closeSocket(ws, 1001, 'Going away')));
    await queue.drain();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
  let closed: Promise<void> | undefined;

  return {
    url: `ws://${origin}${settings.path}`,
    endpoint: `http://${origin}`,
    port,
    close: () => (closed ??= shutdown()),
  };
}

/** Starts the close handshake; a client that does not answer within a second is cut off. Resolves once closed. */
function closeSocket(ws: WebSocket, code: number, reason = ''): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => ws.terminate(), 1000);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.close(code, reason);
  });
}

interface FifoQueueOptions {
  batchSize: number;
  concurrency: number;
  maxReceiveCount: number;
  deliver: (event: SQSEvent) => Promise<SQSBatchResponse | void>;
}

interface Delivery {
  group: string;
  record: SQSRecord;
  receiveCount: number;
}

/**
 * An SQS FIFO queue drained by a Lambda event source mapping. A group (connection) with a record in
 * flight is locked: nothing more of it is handed out until that batch settles, so each group is
 * handled strictly in order while different groups share batches and run side by side.
 */
class FifoQueue {
  readonly #options: FifoQueueOptions;
  readonly #waiting = new Map<string, Delivery[]>();
  readonly #locked = new Set<string>();
  #inFlight = 0;
  #idle: (() => void)[] = [];

  constructor(options: FifoQueueOptions) {
    this.#options = options;
  }

  send(group: string, record: SQSRecord) {
    const delivery = { group, record, receiveCount: 0 };
    const waiting = this.#waiting.get(group);
    if (waiting) waiting.push(delivery);
    else this.#waiting.set(group, [delivery]);
    this.#pump();
  }

  /** Resolves once nothing is waiting or in flight. */
  drain(): Promise<void> {
    return new Promise((resolve) => {
      this.#idle.push(resolve);
      this.#pump();
    });
  }

  #pump() {
    while (this.#inFlight < this.#options.concurrency) {
      const batch = this.#take();
      if (batch.length === 0) break;
      this.#inFlight++;
      void this.#deliver(batch);
    }
    if (this.#inFlight === 0 && this.#waiting.size === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** The heads of unlocked groups, up to a batch; each group taken is locked. */
  #take(): Delivery[] {
    const batch: Delivery[] = [];
    for (const [group, deliveries] of this.#waiting) {
      if (batch.length === this.#options.batchSize) break;
      if (this.#locked.has(group)) continue;
      this.#locked.add(group);
      batch.push(...deliveries.splice(0, this.#options.batchSize - batch.length));
      if (deliveries.length === 0) this.#waiting.delete(group);
    }
    return batch;
  }

  async #deliver(batch: Delivery[]) {
    const records = batch.map((delivery) => {
      delivery.receiveCount++;
      const { record } = delivery;
      return { ...record, attributes: { ...record.attributes, ApproximateReceiveCount: String(delivery.receiveCount) } };
    });
    const failed = await this.#options.deliver({ Records: records }).then(
      (response) => {
        const ids = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
        // Like Lambda: an identifier that names no record of the batch fails the whole batch.
        const known = [...ids].every((id) => records.some((record) => record.messageId === id));
        return known ? ids : new Set(records.map((record) => record.messageId));
      },
      (error: unknown) => {
        log('error', 'stanza handler threw: the whole batch is retried', { error: String(error) });
        return new Set(records.map((record) => record.messageId));
      },
    );
    // Failed records go back to the head of their group, in order, ahead of anything that arrived since.
    const retries = new Map<string, Delivery[]>();
    for (const delivery of batch) {
      if (!failed.has(delivery.record.messageId)) continue;
      if (delivery.receiveCount >= this.#options.maxReceiveCount) {
        const { group, record, receiveCount } = delivery;
        log('error', 'dead letter: record dropped', { connectionId: group, messageId: record.messageId, receiveCount, body: record.body });
      } else retries.set(delivery.group, [...(retries.get(delivery.group) ?? []), delivery]);
    }
    for (const [group, deliveries] of retries) this.#waiting.set(group, [...deliveries, ...(this.#waiting.get(group) ?? [])]);
    for (const delivery of batch) this.#locked.delete(delivery.group);
    this.#inFlight--;
    this.#pump();
  }
}

/** The $connect event also carries identity and multi-value headers, which the V2 WebSocket type leaves out. */
type LocalConnectEvent = ConnectEvent & {
  multiValueHeaders: Record<string, string[]>;
  requestContext: { identity: { sourceIp: string; userAgent: string } };
};

function connectEvent(req: IncomingMessage, connectionId: string, address: AddressInfo): LocalConnectEvent {
  const multiValueHeaders: Record<string, string[]> = {};
  // rawHeaders keeps the client's spelling (Sec-WebSocket-Protocol), as API Gateway does.
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const [name, value] = [req.rawHeaders[i]!, req.rawHeaders[i + 1]!];
    (multiValueHeaders[name] ??= []).push(value);
  }
  const sourceIp = req.socket.remoteAddress ?? '127.0.0.1';
  multiValueHeaders['X-Forwarded-For'] ??= [sourceIp];
  multiValueHeaders['X-Forwarded-Port'] ??= [String(address.port)];
  multiValueHeaders['X-Forwarded-Proto'] ??= ['http'];
  const headers = Object.fromEntries(Object.entries(multiValueHeaders).map(([name, values]) => [name, values.join(',')]));
  const query = new URL(req.url ?? '/', 'http://local').searchParams;
  const now = new Date();
  return {
    headers,
    multiValueHeaders,
    ...(query.size > 0 && { queryStringParameters: Object.fromEntries(query) }),
    requestContext: {
      routeKey: '$connect',
      eventType: 'CONNECT',
      messageId: apiGatewayId(),
      extendedRequestId: apiGatewayId(),
      requestTime: clfTime(now),
      messageDirection: 'IN',
      stage: 'local',
      connectedAt: now.getTime(),
      requestTimeEpoch: now.getTime(),
      identity: { sourceIp, userAgent: req.headers['user-agent'] ?? '' },
      requestId: apiGatewayId(),
      domainName: req.headers.host ?? `${address.address}:${address.port}`,
      connectionId,
      apiId: 'local',
    },
    isBase64Encoded: false,
  };
}

async function invokeConnect(connect: GatewayOptions['connect'], event: ConnectEvent) {
  try {
    const result = await connect(event);
    // A bare (string) result is a 200 to API Gateway.
    if (typeof result !== 'object' || result === null) return { status: 200 };
    const header = Object.entries(result.headers ?? {}).find(([name]) => name.toLowerCase() === 'sec-websocket-protocol');
    return { status: result.statusCode ?? 200, protocol: header && String(header[1]), body: result.body };
  } catch (error) {
    log('error', '$connect handler threw', { connectionId: event.requestContext.connectionId, error: String(error) });
    return { status: 500 };
  }
}

let sequenceNumber = 0n;

/** What the SQS integration enqueues for a frame or a $disconnect, as Lambda receives it. */
function sqsRecord(connectionId: string, eventType: 'MESSAGE' | 'DISCONNECT', body: string): SQSRecord {
  const now = String(Date.now());
  const attribute = (stringValue: string) => ({ stringValue, stringListValues: [], binaryListValues: [], dataType: 'String' });
  return {
    messageId: randomUUID(),
    receiptHandle: randomBytes(32).toString('base64'),
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: now,
      SenderId: 'local',
      ApproximateFirstReceiveTimestamp: now,
      SequenceNumber: String(++sequenceNumber).padStart(20, '0'),
      MessageGroupId: connectionId,
      // The integration's template uses $context.requestId, unique per frame.
      MessageDeduplicationId: apiGatewayId(),
    },
    messageAttributes: { connectionId: attribute(connectionId), eventType: attribute(eventType) },
    md5OfBody: createHash('md5').update(body).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:local:000000000000:cirrus-inbound.fifo',
    awsRegion: 'local',
  };
}

/** API Gateway's ids look like `L0SM9cOFvHcCIhw=`: 11 bytes, base64; '+', '/' and '=' must survive URL encoding. */
function apiGatewayId(): string {
  return randomBytes(11).toString('base64');
}

/** 09/Feb/2019:11:01:23 +0000, API Gateway's requestTime. */
function clfTime(date: Date): string {
  const [, day, month, year, time] = date.toUTCString().split(' ');
  return `${day}/${month}/${year}:${time} +0000`;
}

/** Answers a WebSocket upgrade with a plain HTTP status, then drops the socket. */
function refuse(socket: Duplex, status: number, body = '') {
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** An error as the SDK's REST-JSON protocol reads it: the type in a header, the message in the body. */
function awsError(res: ServerResponse, status: number, type: string, message: string) {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-ErrorType': type }).end(JSON.stringify({ message }));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The request's path as sent, still percent-encoded; never throws, unlike new URL() on a malformed target. */
function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?', 1)[0]!;
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** How a URL names the host a server listens on: a wildcard address is reached through loopback. */
export function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function definedOnly<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function log(level: string, msg: string, fields: Record<string, unknown>) {
  console.error(JSON.stringify({ level, msg, ...fields }));
}
