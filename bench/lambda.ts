import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildFunctions } from '../infra/build.ts';
import { createDb } from '../lib/store/client.ts';
import { ensureTable } from '../lib/store/create-table.ts';
import { median } from './stats.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// Under the project's node_modules, so the bundles resolve the external AWS SDK as Lambda's runtime provides it.
const OUTDIR = join(root, 'node_modules', '.cache', 'cirrus-bench', 'dist');

export interface BundleResult {
  name: string;
  bytes: number;
  /** Import of the bundle and one event handled, in a fresh `node` process, ms: each run and the median. */
  initMs: number[];
  medianInitMs: number;
  /** The import alone (median), ms. */
  medianImportMs: number;
  /** Importing only the AWS SDK packages the bundle leaves external, in a fresh process (median), ms. */
  medianSdkImportMs: number;
  /** Those packages. */
  sdkPackages: string[];
  /** From spawning `node` to its exit (median): Node's own start-up on top, ms. */
  medianProcessMs: number;
}

/**
 * Part 3: bundles the Lambda functions as `npm run build` does (infra/build.ts), then times each one's cold
 * start `runs` times: a fresh `node` process imports the bundle and handles one event against DynamoDB
 * Local (`$connect` creates a connection item; the stanza function handles that connection's `<open/>` and
 * posts the answer to a stub `@connections` endpoint). The AWS SDK is loaded from node_modules, not bundled,
 * as in Lambda.
 */
export async function measureBundles(options: { dynamodbEndpoint: string; domain: string; runs: number }): Promise<BundleResult[]> {
  const bundles = await buildFunctions(OUTDIR);
  const tableName = 'bench-cold-start';
  await ensureTable(createDb({ endpoint: options.dynamodbEndpoint, tableName }));
  const posts = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((done) => posts.listen(0, '127.0.0.1', done));
  const endpoint = `http://127.0.0.1:${(posts.address() as AddressInfo).port}`;
  const env = {
    ...process.env,
    XMPP_DOMAINS: options.domain,
    TABLE_NAME: tableName,
    DYNAMODB_ENDPOINT: options.dynamodbEndpoint,
    AWS_REGION: 'local',
    WS_ENDPOINT: endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
  delete (env as Record<string, string | undefined>).CIRRUS_COUNT_AWS_CALLS;
  const file = (name: string) => bundles.find((b) => b.name === name)?.file;
  const runsOf = new Map<string, Array<{ importMs: number; handleMs: number; processMs: number }>>();
  const sdkRunsOf = new Map<string, number[]>();
  const sdkOf = new Map<string, string[]>();
  for (const { name, file: path } of bundles) {
    sdkOf.set(name, [...new Set([...(await readFile(path, 'utf8')).matchAll(/from\s*"(@aws-sdk\/[^"]+)"/g)].map((m) => m[1]!))].sort());
  }
  try {
    for (let run = 0; run < options.runs; run++) {
      const connectionId = `coldstart${run}${Date.now().toString(36)}=`;
      for (const { name } of bundles) {
        const event = name === 'connect' ? connectEvent(connectionId) : name === 'stanza' ? sqsEvent(connectionId, options.domain) : undefined;
        if (!event) throw new Error(`no cold-start event for the ${name} function`);
        const timing = await coldStart(file(name)!, event, env);
        (runsOf.get(name) ?? runsOf.set(name, []).get(name)!).push(timing);
        // The same fresh-process import, of the external SDK packages alone: how much of the import is the SDK.
        const sdkMs = await importOnly(sdkOf.get(name)!, file(name)!, env);
        (sdkRunsOf.get(name) ?? sdkRunsOf.set(name, []).get(name)!).push(sdkMs);
      }
    }
  } finally {
    posts.close();
  }
  return bundles.map(({ name, bytes }) => {
    const runs = runsOf.get(name) ?? [];
    const initMs = runs.map((r) => r.importMs + r.handleMs);
    return {
      name,
      bytes,
      initMs,
      medianInitMs: median(initMs),
      medianImportMs: median(runs.map((r) => r.importMs)),
      medianSdkImportMs: median(sdkRunsOf.get(name) ?? []),
      sdkPackages: sdkOf.get(name) ?? [],
      medianProcessMs: median(runs.map((r) => r.processMs)),
    };
  });
}

// Runs in the fresh process: import, one event, timings on stdout (the handler's own logs go to stderr).
const PROBE = `
const t0 = performance.now();
const mod = await import(process.env.BENCH_BUNDLE);
const t1 = performance.now();
const result = await mod.handler(JSON.parse(process.env.BENCH_EVENT), { functionName: 'bench', awsRequestId: 'bench' });
const t2 = performance.now();
const failed = result && result.batchItemFailures && result.batchItemFailures.length;
const status = result && result.statusCode;
process.stdout.write('\\nBENCH ' + JSON.stringify({ importMs: t1 - t0, handleMs: t2 - t1, failed, status }) + '\\n');
`;

/** Runs a probe script in a fresh Node process; returns its BENCH line's figures and its wall time. */
async function probe<T>(script: string, env: NodeJS.ProcessEnv, what: string): Promise<T & { processMs: number }> {
  const start = performance.now();
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (err += chunk));
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  const processMs = performance.now() - start;
  const line = out.split('\n').find((l) => l.startsWith('BENCH '));
  if (code !== 0 || !line) throw new Error(`${what} failed (exit ${code}): ${err.slice(-500)}`);
  return { ...(JSON.parse(line.slice(6)) as T), processMs };
}

async function coldStart(file: string, event: unknown, env: NodeJS.ProcessEnv) {
  const timing = await probe<{ importMs: number; handleMs: number; failed?: number; status?: number }>(
    PROBE,
    { ...env, BENCH_BUNDLE: pathToFileURL(file).href, BENCH_EVENT: JSON.stringify(event) },
    `cold start of ${file}`,
  );
  if (timing.failed) throw new Error(`cold start of ${file}: the event's record failed`);
  if (timing.status !== undefined && timing.status !== 200) throw new Error(`cold start of ${file}: $connect answered ${timing.status}`);
  return { importMs: timing.importMs, handleMs: timing.handleMs, processMs: timing.processMs };
}

// Resolved from the bundle's directory, as the bundle itself resolves them.
const SDK_PROBE = `
import { createRequire } from 'node:module';
const require = createRequire(process.env.BENCH_BUNDLE);
const t0 = performance.now();
for (const name of JSON.parse(process.env.BENCH_PACKAGES)) await import(require.resolve(name));
process.stdout.write('\\nBENCH ' + JSON.stringify({ importMs: performance.now() - t0 }) + '\\n');
`;

async function importOnly(packages: string[], bundle: string, env: NodeJS.ProcessEnv): Promise<number> {
  if (!packages.length) return 0;
  const probeEnv = { ...env, BENCH_BUNDLE: bundle, BENCH_PACKAGES: JSON.stringify(packages) };
  return (await probe<{ importMs: number }>(SDK_PROBE, probeEnv, `importing ${packages.join(', ')}`)).importMs;
}

function connectEvent(connectionId: string) {
  const now = Date.now();
  return {
    headers: { 'Sec-WebSocket-Protocol': 'xmpp', Host: 'bench.local' },
    multiValueHeaders: { 'Sec-WebSocket-Protocol': ['xmpp'], Host: ['bench.local'] },
    requestContext: {
      routeKey: '$connect',
      eventType: 'CONNECT',
      messageId: 'bench',
      extendedRequestId: 'bench',
      requestTime: new Date(now).toUTCString(),
      messageDirection: 'IN',
      stage: 'bench',
      connectedAt: now,
      requestTimeEpoch: now,
      identity: { sourceIp: '127.0.0.1', userAgent: 'cirrus-bench' },
      requestId: 'bench',
      domainName: 'bench.local',
      connectionId,
      apiId: 'bench',
    },
    isBase64Encoded: false,
  };
}

function sqsEvent(connectionId: string, domain: string) {
  const attribute = (stringValue: string) => ({ stringValue, stringListValues: [], binaryListValues: [], dataType: 'String' });
  const now = String(Date.now());
  return {
    Records: [
      {
        messageId: `bench-${connectionId}`,
        receiptHandle: 'bench',
        body: `<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='${domain}' version='1.0'/>`,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: now,
          SenderId: 'bench',
          ApproximateFirstReceiveTimestamp: now,
          SequenceNumber: '1',
          MessageGroupId: connectionId,
          MessageDeduplicationId: `bench-${connectionId}`,
        },
        messageAttributes: { connectionId: attribute(connectionId), eventType: attribute('MESSAGE') },
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:local:000000000000:cirrus-inbound.fifo',
        awsRegion: 'local',
      },
    ],
  };
}
