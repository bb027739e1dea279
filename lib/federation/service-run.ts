import { SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../config.ts';
import { createXmppServer } from '../server.ts';
import { createSqsS2sQueue, type SqsSender } from '../transport/sqs-s2s-queue.ts';
import { createFederation, type Federation } from './federation.ts';
import { startS2sConsumer, type S2sConsumer, type SqsConsumerClient } from './service-consumer.ts';
import { startHealthServer, type HealthServer } from './service-health.ts';
import { loadServiceTls, type SecretReader } from './service-tls.ts';

export interface FederationService {
  ports: { s2s: number; directTls?: number; health: number };
  federation: Federation;
  /** SIGTERM: not ready, stop polling, let sends in progress finish briefly, close the streams. */
  stop(): Promise<void>;
}

export interface FederationServiceDeps {
  sqs?: SqsConsumerClient & SqsSender;
  secrets?: SecretReader;
  /** Address the s2s and health ports listen on. */
  host?: string;
  log?: (entry: Record<string, unknown>) => void;
}

/**
 * The Fargate task (functions/federation.ts): the s2s listener, the same XMPP core as the Lambda functions for
 * inbound stanzas, and the consumer of the s2s-out queue the stanza function fills.
 */
export async function startFederationService(config: Config, deps: FederationServiceDeps = {}): Promise<FederationService> {
  const queueUrl = config.s2sQueueUrl;
  if (!queueUrl) throw new Error('environment variable S2S_QUEUE_URL is not set');
  const log = deps.log ?? ((entry) => console.log(JSON.stringify(entry)));
  const host = deps.host ?? '0.0.0.0';
  const tls = await loadServiceTls(config.s2s, config.region, deps.secrets);
  const sqs = deps.sqs ?? new SQSClient({ region: config.region });

  let ready = false;
  let federation: Federation | undefined;
  // Up first, answering 503: the health check has an answer while the rest starts.
  const health: HealthServer = await startHealthServer(
    config.s2s.healthPort,
    () => ({ ready, ...(federation?.stats() ?? { inbound: 0, outbound: 0 }) }),
    host,
  );
  let consumer: S2sConsumer | undefined;
  try {
    // Replies to inbound stanzas that go to other domains (an IQ result, a presence probe) take the queue too.
    const server = createXmppServer(config, { s2s: createSqsS2sQueue(queueUrl, { sqs }) });
    federation = createFederation(
      {
        domains: config.domains,
        tls: { cert: tls.cert, key: tls.key, ca: tls.ca },
        allowDialbackWithInvalidCert: config.s2s.allowDialbackWithInvalidCert,
        dialbackSecret: tls.dialbackSecret,
        routes: config.s2s.routes,
        maxStanzaBytes: config.maxStanzaBytes,
      },
      { deliver: (stanza) => server.inbound(stanza) },
    );
    const listening = await federation.listen({ host, port: config.s2s.port, directTlsPort: config.s2s.directTlsPort });
    const active = federation;
    consumer = startS2sConsumer({ sqs, queueUrl, send: (stanza) => active.send(stanza), maxStanzaBytes: config.maxStanzaBytes, log });
    ready = true;
    log({ level: 'info', msg: 'federation service ready', domains: config.domains, ports: listening, health: health.port });
    return {
      ports: { s2s: listening.port, directTls: listening.directTlsPort, health: health.port },
      federation: active,
      async stop() {
        ready = false;
        await consumer?.stop();
        await active.close();
        await health.close();
      },
    };
  } catch (error) {
    await consumer?.stop(0);
    await federation?.close().catch(() => undefined);
    await health.close();
    throw error;
  }
}
