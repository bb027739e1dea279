import { Duration } from 'aws-cdk-lib';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

/**
 * Every default of the XmppDomain construct, in one place, each with its reason. Props override the
 * ones a deployment may reasonably want to change; the rest are fixed here on purpose.
 */
export const DEFAULTS = {
  // ── Lambda ────────────────────────────────────────────────────────────────────────────────────────
  /**
   * The newest Node.js Lambda runtime CDK knows (cdk-nag AwsSolutions-L1 asks for it). The bundle's syntax
   * target stays node22, the floor the code is written for, so the same bundle also runs on nodejs22.x.
   */
  runtime: Runtime.NODEJS_24_X,
  /** Graviton: about 20 % cheaper per GB-second than x86_64, and the code is plain JavaScript. */
  architecture: Architecture.ARM_64,
  bundleTarget: 'node22',
  /** `$connect` writes one item; 256 MB is plenty and keeps its cold start short. */
  connectMemoryMb: 256,
  /** SCRAM derives keys with PBKDF2 (CPU): more memory buys proportionally more CPU. */
  stanzaMemoryMb: 512,
  /** API Gateway waits at most 29 s for `$connect`; a connect that needs more than 10 s has failed anyway. */
  connectTimeout: Duration.seconds(10),
  /** A batch is at most 10 frames, each a few DynamoDB calls and posts. */
  stanzaTimeout: Duration.seconds(20),

  // ── SQS (API Gateway → stanza Lambda) ─────────────────────────────────────────────────────────────
  /** FIFO allows at most 10 records per batch. */
  batchSize: 10,
  /**
   * Six times the function timeout, as AWS recommends for SQS event sources (a throttled batch is retried
   * within it). A failed frame blocks its connection's group until this expires, then is retried.
   */
  frameVisibilityTimeout: Duration.seconds(120),
  /** Three attempts, then the frame goes to the dead-letter queue and the connection's later frames proceed. */
  maxReceiveCount: 3,
  /** API Gateway closes every connection within 2 h: a frame older than a day can only be for a dead one. */
  frameRetention: Duration.days(1),
  /** Long enough to look into a failure after a weekend. */
  deadLetterRetention: Duration.days(14),

  // ── API Gateway ───────────────────────────────────────────────────────────────────────────────────
  stageName: 'xmpp',
  /**
   * Per stage, across all routes: well under the account's 10,000 requests/s (shared with PostToConnection),
   * so one noisy deployment cannot starve the others in the account.
   */
  throttle: { rateLimit: 1000, burstLimit: 2000 },

  // ── Metrics (Powertools, functions/observability.ts) ─────────────────────────────────────────────
  metricsNamespace: 'Cirrus',
  serviceName: 'cirrus',

  // ── Logs ──────────────────────────────────────────────────────────────────────────────────────────
  logRetention: RetentionDays.ONE_MONTH,

  // ── Federation (ECS Fargate behind an NLB) ────────────────────────────────────────────────────────
  s2sPort: 5269,
  /** XEP-0368: TLS from the first byte. */
  s2sDirectTlsPort: 5270,
  healthPort: 8080,
  healthPath: '/health',
  /** 0.25 vCPU and 0.5 GB, the smallest Fargate size: a federation link is mostly idle TCP. */
  taskCpu: 256,
  taskMemoryMb: 512,
  minTasks: 1,
  maxTasks: 4,
  /** Scale out above this average CPU … */
  targetCpuPercent: 60,
  /** … or above this many open TCP connections per task. */
  connectionsPerTask: 2000,
  /** Time a stopping task has to close its streams (RFC 6120 §4.4) before the NLB cuts them. */
  deregistrationDelay: Duration.seconds(30),
  /** Outbound stanzas to peer servers: a stanza not delivered within this is bounced by the service anyway. */
  s2sRetention: Duration.days(1),
  s2sVisibilityTimeout: Duration.seconds(60),
} as const;
