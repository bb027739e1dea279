import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../infra/local/free-port.ts';
import { configFromEnv, type Config } from '../../lib/config.ts';
import { selfSignedCertificate } from '../../lib/federation/certificates.ts';
import { startFederationService, type FederationService } from '../../lib/federation/service-run.ts';
import { createSqsS2sQueue } from '../../lib/transport/sqs-s2s-queue.ts';
import { xml, xmppJs, type XmppJs } from '../support/clients.ts';
import { startTestDomain, type TestDomain } from '../support/local.ts';
import { FakeFifoQueue } from './fake-sqs.ts';

/**
 * The AWS shape of federation, end to end: a.test's handlers hand stanzas for b.test to the s2s-out queue (an
 * in-memory SQS FIFO), the federation service (functions/federation.ts's startFederationService) drains it and
 * federates with b.test (a local runtime with federation), and routes b.test's answers to a.test's users through
 * the same table and `@connections` API as the handlers.
 */

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/s2s-out.fifo';
const sqs = new FakeFifoQueue();
let a: TestDomain;
let b: TestDomain;
let service: FederationService;
let ann: XmppJs;
let ben: XmppJs;
let dir: string;
let config: Config;
const serviceLog: Array<Record<string, unknown>> = [];
const peerLog: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  const servicePort = await freePort();
  a = await startTestDomain({ domains: ['a.test'], s2sQueue: createSqsS2sQueue(QUEUE_URL, { sqs }) });
  b = await startTestDomain({
    domains: ['b.test'],
    s2s: {
      host: '127.0.0.1',
      port: 0,
      routes: { 'a.test': { host: '127.0.0.1', port: servicePort } },
      federation: { log: (entry) => peerLog.push(entry) },
    },
  });
  dir = await mkdtemp(join(tmpdir(), 'cirrus-service-'));
  const pem = await selfSignedCertificate(['a.test']);
  await writeFile(join(dir, 'cert.pem'), pem.cert);
  await writeFile(join(dir, 'key.pem'), pem.key);
  config = configFromEnv({
    XMPP_DOMAINS: 'a.test',
    TABLE_NAME: a.config.tableName,
    DYNAMODB_ENDPOINT: a.dynamodb.endpoint,
    AWS_REGION: 'local',
    WS_ENDPOINT: a.endpoint,
    S2S_QUEUE_URL: QUEUE_URL,
    S2S_PORT: String(servicePort),
    HEALTH_PORT: '0',
    TLS_CERT_FILE: join(dir, 'cert.pem'),
    TLS_KEY_FILE: join(dir, 'key.pem'),
    S2S_ROUTES: `b.test=127.0.0.1:${b.s2s!.port}`,
  });
  service = await startFederationService(config, { sqs, host: '127.0.0.1', log: (entry) => serviceLog.push(entry) });
  await a.addUser('ann@a.test');
  await b.addUser('ben@b.test');
  ann = await xmppJs(a.url, 'ann', { domain: 'a.test', resource: 'r' });
  ben = await xmppJs(b.url, 'ben', { domain: 'b.test', resource: 'r' });
  await ann.client.send(xml('presence'));
  await ben.client.send(xml('presence'));
}, 60_000);

afterAll(async () => {
  await ann?.client.stop().catch(() => undefined);
  await ben?.client.stop().catch(() => undefined);
  await service?.stop();
  await a?.stop();
  await b?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the federation service (Fargate entry point) with the s2s-out SQS queue', () => {
  it('answers GET /health 200 while it listens', async () => {
    const res = await fetch(`http://127.0.0.1:${service.ports.health}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok' });
  });

  it('sends a queued stanza to the peer, deletes its message only then, and routes the answer to the local user', async () => {
    await ann.client.send(xml('message', { to: 'ben@b.test', type: 'chat', id: 'via-sqs' }, xml('body', {}, 'through SQS')));
    const atBen = await ben.next((s) => s.is('message') && s.attrs.id === 'via-sqs');
    expect(atBen.attrs.from).toBe('ann@a.test/r');
    await expect.poll(() => sqs.deleted).toEqual([expect.stringContaining('through SQS')]);
    expect(sqs.remaining).toEqual([]);

    await ben.client.send(xml('message', { to: 'ann@a.test/r', type: 'chat', id: 'back' }, xml('body', {}, 'and back')));
    const atAnn = await ann.next((s) => s.is('message') && s.attrs.id === 'back');
    expect(atAnn.attrs.from).toBe('ben@b.test/r');
    expect(serviceLog).toContainEqual(expect.objectContaining({ msg: 'federation service ready' }));
  });

  it('stops (not healthy, no longer polling, streams closed), and a new task sends what was queued meanwhile', async () => {
    await service.stop();
    await expect(fetch(`http://127.0.0.1:${service.ports.health}/health`)).rejects.toThrow();
    expect(service.federation.stats()).toEqual({ inbound: 0, outbound: 0 });
    // Queued while no task runs: it waits in SQS.
    await ann.client.send(xml('message', { to: 'ben@b.test', type: 'chat', id: 'later' }, xml('body', {}, 'for the next task')));
    await expect.poll(() => sqs.remaining).toEqual([expect.stringContaining('for the next task')]);
    expect(ben.received.some((s) => s.attrs.id === 'later')).toBe(false);

    service = await startFederationService(config, { sqs, host: '127.0.0.1', log: (entry) => serviceLog.push(entry) });
    expect((await ben.next((s) => s.is('message') && s.attrs.id === 'later')).attrs.from).toBe('ann@a.test/r');
    await expect.poll(() => sqs.remaining).toEqual([]);
  });
});
