import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { JavaMissingError } from './dynamodb.ts';
import { startLocal, type LocalOptions, type LocalRuntime } from './runtime.ts';

/** `npm start`: the whole Cirrus domain on this machine, until Ctrl-C. */

// The SDK's nine-line notice that Node 20 support ends in 2027 would bury the banner; the README says it once.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `Usage: npm start -- [options]

Runs Cirrus locally: the WebSocket endpoint, the real handlers and DynamoDB Local.

Options (environment variable in parentheses):
  --domain <d1,d2>           XMPP domain(s) served (XMPP_DOMAIN; default localhost)
  --host <address>           address to listen on (HOST; default 127.0.0.1)
  --port <number>            WebSocket and HTTP port (PORT; default 5280)
  --data-dir <dir>           keep DynamoDB Local's data in dir (DATA_DIR; default in memory)
  --dynamodb-endpoint <url>  use this DynamoDB, start no DynamoDB Local (DYNAMODB_ENDPOINT)
  --allow-registration       allow in-band registration, XEP-0077 (ALLOW_REGISTRATION=true)
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
  return {
    domains,
    host: values.host ?? env.HOST ?? '127.0.0.1',
    port,
    dataDir: values['data-dir'] ?? (env.DATA_DIR || undefined),
    dynamodbEndpoint: values['dynamodb-endpoint'] ?? (env.DYNAMODB_ENDPOINT || undefined),
    allowRegistration: values['allow-registration'] ?? env.ALLOW_REGISTRATION === 'true',
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
    `Create a user:    npx cirrus user add alice@${domain} --password secret`,
    'Stop with Ctrl-C.',
    '',
  ].join('\n');
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
    console.error(error instanceof JavaMissingError ? error.message : error);
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
