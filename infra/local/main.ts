import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseRoutes } from '../../lib/config.ts';
import { JavaMissingError } from './dynamodb.ts';
import { DEFAULT_LOCAL_WORKERS as DEFAULT_WORKERS } from './handler-workers.ts';
import { S2sPortInUseError, startLocal, type LocalOptions, type LocalRuntime } from './runtime.ts';

/** `npm start`: the whole Cirrus domain on this machine, until Ctrl-C. */

// The SDK's nine-line notice that Node 20 support ends in 2027 would bury the banner; the README says it once.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `Usage: npm start -- [options]

Runs Cirrus locally: the WebSocket endpoint, the real handlers, DynamoDB Local and the federation service.

Options (environment variable in parentheses):
  --domain <d1,d2>           XMPP domain(s) served (XMPP_DOMAIN; default localhost)
  --host <address>           address to listen on (HOST; default 127.0.0.1)
  --port <number>            WebSocket and HTTP port (PORT; default 5280)
  --data-dir <dir>           keep DynamoDB Local's data in dir (DATA_DIR; default in memory)
  --dynamodb-endpoint <url>  use this DynamoDB, start no DynamoDB Local (DYNAMODB_ENDPOINT)
  --allow-registration       allow in-band registration, XEP-0077 (ALLOW_REGISTRATION=true)
  --s2s-port <number|0|auto> server-to-server port (S2S_PORT; default 5269; 0 turns federation off;
                             auto takes any free port)
  --s2s-host <address>       address the s2s port listens on (S2S_HOST; default: --host)
  --tls-cert <file>          PEM certificate for the domain(s) (TLS_CERT_FILE; default: self-signed, made at start)
  --tls-key <file>           its PEM private key (TLS_KEY_FILE)
  --tls-ca <file>            extra CA certificates (PEM) trusted for peer certificates (TLS_CA_FILE)
  --s2s-route <d=host:port>  reach domain d at host:port instead of through DNS; repeatable
                             (S2S_ROUTES=d1=host:port,d2=host:port)
  --s2s-require-valid-cert   refuse dialback from peers whose certificate is invalid
                             (S2S_ALLOW_DIALBACK_WITH_INVALID_CERT=false; default: allowed)
  --workers <number>         run the handlers in this many worker threads, like Lambda containers, so they
                             use other cores than the WebSocket gateway (WORKERS; default ${DEFAULT_WORKERS};
                             0: in the gateway's thread)
  -h, --help                 show this help
`;

// Stopping takes DynamoDB Local down too; if that hangs, exiting still kills it (see dynamodb.ts).
const STOP_DEADLINE_MS = 10_000;

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): LocalOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      domain: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      'dynamodb-endpoint': { type: 'string' },
      'allow-registration': { type: 'boolean' },
      's2s-port': { type: 'string' },
      's2s-host': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      's2s-route': { type: 'string', multiple: true },
      's2s-require-valid-cert': { type: 'boolean' },
      workers: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const domains = (values.domain ?? env.XMPP_DOMAIN ?? 'localhost')
    .split(',')
    .map((domain) => domain.trim().toLowerCase())
    .filter(Boolean);
  if (domains.length === 0) throw new Error('--domain: at least one domain is required');
  const portText = values.port ?? env.PORT ?? '5280';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new Error(`--port: not a port number: ${portText}`);
  const workersText = values.workers ?? (env.WORKERS || String(DEFAULT_WORKERS));
  if (!/^\d+$/.test(workersText) || Number(workersText) > 64) throw new Error(`--workers: not a number from 0 to 64: ${workersText}`);
  return {
    domains,
    host: values.host ?? env.HOST ?? '127.0.0.1',
    port,
    dataDir: values['data-dir'] ?? (env.DATA_DIR || undefined),
    dynamodbEndpoint: values['dynamodb-endpoint'] ?? (env.DYNAMODB_ENDPOINT || undefined),
    allowRegistration: values['allow-registration'] ?? env.ALLOW_REGISTRATION === 'true',
    s2s: s2sOptions(values, env),
    workers: Number(workersText),
  };
}

/** The federation's options; undefined when `--s2s-port 0` turns it off. */
function s2sOptions(
  values: { 's2s-port'?: string; 's2s-host'?: string; 'tls-cert'?: string; 'tls-key'?: string; 'tls-ca'?: string; 's2s-route'?: string[]; 's2s-require-valid-cert'?: boolean },
  env: NodeJS.ProcessEnv,
): LocalOptions['s2s'] {
  const portText = values['s2s-port'] ?? (env.S2S_PORT || '5269');
  if (portText === '0') return undefined;
  const port = portText === 'auto' ? 0 : Number(portText);
  if (portText !== 'auto' && (!/^\d+$/.test(portText) || port > 65535)) throw new Error(`--s2s-port: not a port number: ${portText}`);
  const certFile = values['tls-cert'] ?? (env.TLS_CERT_FILE || undefined);
  const keyFile = values['tls-key'] ?? (env.TLS_KEY_FILE || undefined);
  if (!certFile !== !keyFile) throw new Error('--tls-cert and --tls-key go together');
  const caFile = values['tls-ca'] ?? (env.TLS_CA_FILE || undefined);
  const routes = values['s2s-route'] ? parseRoutes(values['s2s-route'].join(',')) : parseRoutes(env.S2S_ROUTES ?? '');
  return {
    port,
    host: values['s2s-host'] ?? (env.S2S_HOST || undefined),
    tls: certFile && keyFile ? { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') } : undefined,
    ca: caFile ? [readFileSync(caFile, 'utf8')] : undefined,
    routes,
    allowDialbackWithInvalidCert: !(values['s2s-require-valid-cert'] ?? env.S2S_ALLOW_DIALBACK_WITH_INVALID_CERT === 'false'),
  };
}

/**
 * `.cirrus/local.json` tells the `cirrus` CLI where the running store is. Removed on exit, but only
 * if it is still ours: another runner started in the same directory since then owns it now.
 */
function publishState(runtime: LocalRuntime) {
  const file = join(process.cwd(), '.cirrus', 'local.json');
  const state = {
    dynamodbEndpoint: runtime.dynamodb.endpoint,
    tableName: runtime.config.tableName,
    domains: runtime.config.domains,
    region: 'local',
  };
  const text = `${JSON.stringify(state, null, 2)}\n`;
  mkdirSync(join(process.cwd(), '.cirrus'), { recursive: true });
  writeFileSync(file, text);
  process.once('exit', () => {
    try {
      if (readFileSync(file, 'utf8') === text) rmSync(file);
    } catch {
      // Already gone.
    }
  });
}

function banner(runtime: LocalRuntime, options: LocalOptions): string {
  const { endpoint, pid } = runtime.dynamodb;
  const store =
    pid === undefined
      ? `DynamoDB        ${endpoint}`
      : `DynamoDB Local  ${endpoint} (pid ${pid}, ${options.dataDir ? `data in ${options.dataDir}` : 'in memory'})`;
  const [domain] = runtime.config.domains;
  return [
    `Cirrus is running (pid ${process.pid})`,
    `  WebSocket       ${runtime.url}`,
    `  Domains         ${runtime.config.domains.join(', ')}`,
    `  ${store}`,
    `  Registration    ${runtime.config.allowRegistration ? 'allowed (XEP-0077)' : 'off'}`,
    `  Federation      ${federationLine(runtime)}`,
    `  Handlers        ${options.workers ? `in ${options.workers} worker thread${options.workers === 1 ? '' : 's'}` : "in the gateway's thread"}`,
    `Create a user:    npx cirrus user add alice@${domain} --password secret`,
    'Stop with Ctrl-C.',
    '',
  ].join('\n');
}

function federationLine(runtime: LocalRuntime): string {
  const { s2s } = runtime;
  if (!s2s) return 'off (--s2s-port 0)';
  const address = `${s2s.host.includes(':') ? `[${s2s.host}]` : s2s.host}:${s2s.port}`;
  return `s2s on ${address}, ${s2s.selfSigned ? 'self-signed certificate (made at start)' : 'certificate from --tls-cert'}`;
}

async function main() {
  let options: LocalOptions | 'help';
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`cirrus: ${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return;
  }

  let runtime: LocalRuntime | undefined;
  let stopping = false;
  // Every way out goes through process.exit, whose 'exit' event kills DynamoDB Local's Java child.
  const shutdown = (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('Stopping…\n');
    setTimeout(() => {
      console.error(`cirrus: not stopped after ${STOP_DEADLINE_MS} ms, exiting`);
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    (runtime?.stop() ?? Promise.resolve()).then(
      () => process.exit(code),
      (error: unknown) => {
        console.error('cirrus: error while stopping:', error);
        process.exit(1);
      },
    );
  };
  // Ctrl-C signals the whole process group and npm forwards it too: repeats while stopping are ignored.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => shutdown(0));
  process.on('uncaughtException', (error) => {
    console.error('cirrus: uncaught exception:', error);
    shutdown(1);
  });
  watchParent(() => shutdown(0));

  try {
    runtime = await startLocal(options);
  } catch (error) {
    const clear = error instanceof JavaMissingError || error instanceof S2sPortInUseError;
    console.error(clear ? error.message : error);
    process.exit(1);
  }
  publishState(runtime);
  process.stdout.write(banner(runtime, options));
}

/**
 * `npm start` runs us through `sh -c`, and `kill <npm pid>` is forwarded to that shell only: dash
 * dies of it without passing it on, and we would run on orphaned. So under npm, losing our parent
 * means stopping. (A terminal's Ctrl-C reaches us directly: it signals the whole process group.)
 */
function watchParent(onOrphaned: () => void) {
  if (process.env.npm_lifecycle_event === undefined) return;
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) onOrphaned();
  }, 250).unref();
}

await main();
