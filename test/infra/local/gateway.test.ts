import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { APIGatewayProxyResultV2, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import type { ConnectEvent } from '../../../functions/connect.ts';
import { startGateway, type Gateway, type GatewayOptions } from '../../../infra/local/gateway.ts';

// The gateway is the unit under test: the handlers here only record what reaches them.

const gateways: Gateway[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(gateways.splice(0).map((gateway) => gateway.close()));
});

const acceptXmpp = async (): Promise<APIGatewayProxyResultV2> => ({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'xmpp' } });

async function gatewayWith(options: Partial<GatewayOptions> = {}) {
  const connects: ConnectEvent[] = [];
  const delivered: SQSRecord[] = [];
  const stanza = options.stanza ?? (async () => undefined);
  const gateway = await startGateway({
    host: '127.0.0.1',
    port: 0,
    ...options,
    connect: async (event) => (connects.push(event), (options.connect ?? acceptXmpp)(event)),
    stanza: async (event) => {
      const response = await stanza(event);
      const failed = new Set(response?.batchItemFailures.map((failure) => failure.itemIdentifier));
      delivered.push(...event.Records.filter((record) => !failed.has(record.messageId)));
      return response;
    },
  });
  gateways.push(gateway);
  return { gateway, connects, delivered };
}

function open(url: string, protocols: string[] = ['xmpp']): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function closeOf(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

const connectionIdOf = (record: SQSRecord) => record.messageAttributes.connectionId!.stringValue!;
const eventTypeOf = (record: SQSRecord) => record.messageAttributes.eventType!.stringValue!;
/** What the stanza handler handled (did not report failed) of one connection: frame bodies, then DISCONNECT. */
const bodies = (records: SQSRecord[], connectionId: string) =>
  records.filter((record) => connectionIdOf(record) === connectionId).map((record) => record.body);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function managementClient(gateway: Gateway) {
  return new ApiGatewayManagementApiClient({
    endpoint: gateway.endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

describe('the $connect handshake', () => {
  it("refuses the upgrade with the connect handler's status", async () => {
    const { gateway, delivered } = await gatewayWith({ connect: async () => ({ statusCode: 400, body: 'no' }) });
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(gateway.url, ['xmpp']);
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode!));
      ws.once('open', () => reject(new Error('opened')));
    });
    expect(status).toBe(400);
    await gateway.close();
    expect(delivered).toEqual([]);
  });

  it('echoes the subprotocol the connect handler chose, and gives it an API Gateway-shaped event', async () => {
    const { gateway, connects } = await gatewayWith();
    const ws = await open(gateway.url, ['foo', 'xmpp']);
    expect(ws.protocol).toBe('xmpp');
    const [event] = connects;
    expect(event?.headers?.['Sec-WebSocket-Protocol']).toBe('foo,xmpp');
    expect(event?.requestContext).toMatchObject({ routeKey: '$connect', eventType: 'CONNECT', stage: 'local', apiId: 'local' });
    expect(event?.requestContext.connectionId).toMatch(/^[A-Za-z0-9+/]{15}=$/);
    ws.close();
  });

  it('raises $disconnect for an accepted $connect whose client left before the handshake completed', async () => {
    const { gateway, connects, delivered } = await gatewayWith({ connect: async () => (await sleep(100), acceptXmpp()) });
    const ws = new WebSocket(gateway.url, ['xmpp']);
    ws.on('error', () => undefined);
    await vi.waitFor(() => expect(connects).toHaveLength(1));
    ws.terminate();
    const id = connects[0]!.requestContext.connectionId;
    await vi.waitFor(() => expect(bodies(delivered, id)).toEqual(['DISCONNECT']));
  });

  it('answers 404 on other paths without calling the connect handler', async () => {
    const { gateway, connects } = await gatewayWith();
    const status = await new Promise<number>((resolve) => {
      new WebSocket(`${gateway.endpoint.replace('http', 'ws')}/elsewhere`, ['xmpp']).once('unexpected-response', (_req, res) =>
        resolve(res.statusCode!),
      );
    });
    expect(status).toBe(404);
    expect(connects).toEqual([]);
  });
});

describe('delivery through the FIFO queue', () => {
  it("delivers one connection's frames in order with $disconnect last, with a slow handler and concurrency 4", async () => {
    const inFlight = new Set<string>();
    let overlapped = false;
    const { gateway, connects, delivered } = await gatewayWith({
      concurrency: 4,
      batchSize: 3,
      stanza: async (event) => {
        const groups = new Set(event.Records.map(connectionIdOf));
        for (const group of groups) overlapped ||= inFlight.has(group);
        for (const group of groups) inFlight.add(group);
        await sleep(Math.random() * 15);
        for (const group of groups) inFlight.delete(group);
      },
    });
    const ws = await open(gateway.url);
    const frames = Array.from({ length: 30 }, (_, i) => `<message id='${i}'/>`);
    for (const frame of frames) ws.send(frame);
    ws.close();
    const id = connects[0]!.requestContext.connectionId;
    await vi.waitFor(() => expect(bodies(delivered, id)).toEqual([...frames, 'DISCONNECT']), { timeout: 5000 });
    expect(overlapped).toBe(false);
    expect(delivered.map(eventTypeOf)).toEqual([...frames.map(() => 'MESSAGE'), 'DISCONNECT']);
    expect(delivered.every((record) => record.attributes.MessageGroupId === id)).toBe(true);
  });

  it('lets two connections progress independently', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const { gateway, connects, delivered } = await gatewayWith({
      concurrency: 2,
      stanza: async (event) => {
        if (event.Records.some((record) => record.body === 'a1')) await blocked;
      },
    });
    const a = await open(gateway.url);
    const b = await open(gateway.url);
    const [idA, idB] = connects.map((event) => event.requestContext.connectionId) as [string, string];
    a.send('a1');
    await sleep(50);
    a.send('a2');
    b.send('b1');
    b.send('b2');
    await vi.waitFor(() => expect(bodies(delivered, idB)).toEqual(['b1', 'b2']));
    expect(bodies(delivered, idA)).toEqual([]);
    release();
    await vi.waitFor(() => expect(bodies(delivered, idA)).toEqual(['a1', 'a2']));
    a.close();
    b.close();
  });

  it('retries a record reported as failed ahead of what arrived meanwhile, keeping the order', async () => {
    let failing = false;
    let fail!: () => void;
    const failNow = new Promise<void>((resolve) => (fail = resolve));
    const { gateway, connects, delivered } = await gatewayWith({
      stanza: async (event): Promise<SQSBatchResponse> => {
        // As the stanza handler does: the failed record and every later one of its connection.
        const index = event.Records.findIndex((record) => record.body === '2');
        if (index < 0 || failing) return { batchItemFailures: [] };
        failing = true;
        await failNow;
        return { batchItemFailures: event.Records.slice(index).map((record) => ({ itemIdentifier: record.messageId })) };
      },
    });
    const ws = await open(gateway.url);
    ws.send('1');
    ws.send('2');
    await vi.waitFor(() => expect(failing).toBe(true));
    // Queued behind the failing batch: the retried record must still come first.
    ws.send('3');
    ws.send('4');
    ws.close();
    await closeOf(ws);
    await sleep(20);
    fail();
    const id = connects[0]!.requestContext.connectionId;
    await vi.waitFor(() => expect(bodies(delivered, id)).toEqual(['1', '2', '3', '4', 'DISCONNECT']));
    expect(delivered.find((record) => record.body === '2')?.attributes.ApproximateReceiveCount).toBe('2');
  });

  it('retries the whole batch when the handler throws', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    let threw = false;
    const { gateway, connects, delivered } = await gatewayWith({
      stanza: async (event) => {
        if (!threw && event.Records.some((record) => record.body === 'boom')) {
          threw = true;
          throw new Error('transient');
        }
      },
    });
    const ws = await open(gateway.url);
    ws.send('boom');
    ws.send('after');
    ws.close();
    const id = connects[0]!.requestContext.connectionId;
    await vi.waitFor(() => expect(bodies(delivered, id)).toEqual(['boom', 'after', 'DISCONNECT']));
    expect(threw).toBe(true);
    expect(errors.mock.calls.some(([line]) => String(line).includes('whole batch is retried'))).toBe(true);
  });

  it('drops a record to the dead-letter log after maxReceiveCount deliveries, then goes on', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    let attempts = 0;
    const { gateway, connects, delivered } = await gatewayWith({
      maxReceiveCount: 3,
      stanza: async (event): Promise<SQSBatchResponse> => {
        const poison = event.Records.find((record) => record.body === 'poison');
        if (poison) attempts++;
        return { batchItemFailures: poison ? [{ itemIdentifier: poison.messageId }] : [] };
      },
    });
    const ws = await open(gateway.url);
    ws.send('poison');
    ws.send('next');
    ws.close();
    const id = connects[0]!.requestContext.connectionId;
    await vi.waitFor(() => expect(bodies(delivered, id)).toEqual(['next', 'DISCONNECT']));
    expect(attempts).toBe(3);
    expect(errors.mock.calls.some(([line]) => String(line).includes('dead letter'))).toBe(true);
  });

  it('delivers binary frames as text', async () => {
    const { gateway, connects, delivered } = await gatewayWith();
    const ws = await open(gateway.url);
    ws.send(Buffer.from('<presence/>'), { binary: true });
    ws.close();
    const id = connects[0]!.requestContext.connectionId;
    await vi.waitFor(() => expect(bodies(delivered, id)).toEqual(['<presence/>', 'DISCONNECT']));
  });
});

describe('the @connections management API, through the AWS SDK', () => {
  it('posts a frame, reports the connection, deletes it (then $disconnect) and answers GoneException afterwards', async () => {
    const { gateway, connects, delivered } = await gatewayWith();
    const ws = await open(gateway.url);
    const received = new Promise<string>((resolve) => ws.once('message', (data, isBinary) => resolve(isBinary ? 'binary' : String(data))));
    const ConnectionId = connects[0]!.requestContext.connectionId;
    const client = managementClient(gateway);

    await client.send(new PostToConnectionCommand({ ConnectionId, Data: "<message id='m1'/>" }));
    expect(await received).toBe("<message id='m1'/>");

    const info = await client.send(new GetConnectionCommand({ ConnectionId }));
    expect(info.ConnectedAt).toBeInstanceOf(Date);
    expect(info.LastActiveAt).toBeInstanceOf(Date);
    expect(info.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: '' });

    const closed = closeOf(ws);
    await client.send(new DeleteConnectionCommand({ ConnectionId }));
    expect(await closed).toBe(1000);
    await vi.waitFor(() => expect(bodies(delivered, ConnectionId)).toEqual(['DISCONNECT']));

    await expect(client.send(new PostToConnectionCommand({ ConnectionId, Data: '<x/>' }))).rejects.toBeInstanceOf(GoneException);
    await expect(client.send(new GetConnectionCommand({ ConnectionId }))).rejects.toBeInstanceOf(GoneException);
    await expect(client.send(new DeleteConnectionCommand({ ConnectionId }))).rejects.toBeInstanceOf(GoneException);
  });
});

describe('API Gateway limits', () => {
  it('closes with 1009 on a message over the limit, and delivers nothing of it', async () => {
    const { gateway, connects, delivered } = await gatewayWith({ maxMessageBytes: 1024 });
    const ws = await open(gateway.url);
    const closed = closeOf(ws);
    ws.send('<small/>');
    ws.send(`<big>${'x'.repeat(2000)}</big>`);
    expect(await closed).toBe(1009);
    const id = connects[0]!.requestContext.connectionId;
    await vi.waitFor(() => expect(bodies(delivered, id)).toEqual(['<small/>', 'DISCONNECT']));
  });

  it('closes an idle connection with 1001 and raises $disconnect', async () => {
    const { gateway, connects, delivered } = await gatewayWith({ idleTimeoutMs: 300 });
    const ws = await open(gateway.url);
    const started = Date.now();
    expect(await closeOf(ws)).toBe(1001);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    const id = connects[0]!.requestContext.connectionId;
    await vi.waitFor(() => expect(bodies(delivered, id)).toEqual(['DISCONNECT']));
  });

  it('closes a connection older than maxConnectionMs with 1001, however active', async () => {
    const { gateway, connects, delivered } = await gatewayWith({ idleTimeoutMs: 200, maxConnectionMs: 500 });
    const ws = await open(gateway.url);
    const closed = closeOf(ws);
    const chatter = setInterval(() => ws.send('<r/>'), 50);
    expect(await closed).toBe(1001);
    clearInterval(chatter);
    const id = connects[0]!.requestContext.connectionId;
    await vi.waitFor(() => expect(bodies(delivered, id).at(-1)).toBe('DISCONNECT'));
  });
});

describe('close()', () => {
  it('closes the sockets and resolves once their $disconnects are handled', async () => {
    const { gateway, connects, delivered } = await gatewayWith({ stanza: async () => void (await sleep(20)) });
    const ws = await open(gateway.url);
    const closed = closeOf(ws);
    ws.send('<last/>');
    await sleep(20);
    await gateway.close();
    expect(await closed).toBe(1001);
    expect(bodies(delivered, connects[0]!.requestContext.connectionId)).toEqual(['<last/>', 'DISCONNECT']);
  });
});
