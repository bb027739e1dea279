import { parseArgs } from 'node:util';
import { DEFAULT_LOCAL_WORKERS } from '../infra/local/handler-workers.ts';
import type { MechanismChoice } from './xmpp/sasl.ts';

export type Scenario = 'login' | 'chat' | 'presence';

export interface BenchOptions {
  /** An RFC 7395 endpoint; absent: start Cirrus's local runtime in a child process. */
  service?: string;
  domain: string;
  users?: string;
  password?: string;
  accountsFile?: string;
  scenarios: Scenario[];
  clients: number;
  /** Chat: target messages/s, one step per value. */
  rates: number[];
  /** Presence: changes/s. */
  presenceRate: number;
  durationS: number;
  drainS: number;
  /** Seconds of unmeasured login + chat before the scenarios. */
  warmupS: number;
  contacts: number;
  mechanism: MechanismChoice;
  /** Logins in flight at once; 0: all at once. */
  concurrency: number;
  to: 'bare' | 'full';
  bodyBytes: number;
  json?: string;
  report: boolean;
  /** Where --report writes (default docs/benchmarks.md). */
  reportFile?: string;
  /** What the target is, for the report (e.g. "Prosody 0.12.3"). */
  name?: string;
  /** The other server's process, to show its CPU use next to the generator's. */
  serverPid?: number;
  /** Run nothing: print and report the results saved by an earlier --json. */
  fromJson?: string;
  /** Lambda bundles and cold start (local runtime only). */
  lambda: boolean;
  coldRuns: number;
  /** Handler CPU micro-benchmark (local runtime only). */
  cpu: boolean;
  /** A V8 CPU profile of the local runtime, summarised by part (slows the runtime a little). */
  profile: boolean;
  /** The local runtime's handler worker threads (0: the handlers share the emulator's thread). */
  workers: number;
  quiet: boolean;
}

export const USAGE = `npm run bench -- [options]

Runs a load generator over RFC 7395 WebSocket. Without --service it starts Cirrus's local runtime
(DynamoDB Local + API Gateway emulator + the real handlers) in a child process, with the AWS call
counter on, and creates the accounts itself.

Target (another server: Prosody, ejabberd, Cirrus elsewhere):
  --service URL          ws://host:port/xmpp-websocket
  --domain D             the XMPP domain (default localhost)
  --users PREFIX         accounts PREFIX1…PREFIXn exist, all with --password P
  --password P
  --accounts FILE        or: one "user password" per line
  --server-pid PID       that server's process id, to show its CPU use (Linux)
  --mechanism M          SCRAM-SHA-1 (default), SCRAM-SHA-256, PLAIN or auto

Scenarios:
  --scenario S           login | chat | presence | all (default all; comma-separated list allowed)
  -n, --clients N        clients (default 40)
  --rate R[,R…]          chat: total target messages/s, one step each (default 250,500,1000)
  --presence-rate R      presence: changes/s (default 50)
  --duration T           seconds per step (default 10)
  --contacts K           presence: roster size (default 5; needs n ≥ 2K)
  --concurrency C        logins in flight (default 0: all at once)
  --to bare|full         chat addressing (default bare)
  --body-bytes B         chat: padding per message (default 0)
  --drain S              after sending, a silence this long (s) ends the wait; what is missing then is lost (default 10)
  --warmup S             seconds of unmeasured login + chat first (default 5; 0: none)

Output:
  --json FILE            write the results as JSON
  --report               write docs/benchmarks.md
  --report-file FILE     write the report there instead (implies --report)
  --name TEXT            what the target is, for the report (e.g. "Prosody 0.12.3")
  --from-json FILE       run nothing: show (and with --report, write) the results an earlier --json saved
  --no-lambda            skip bundle sizes and cold start
  --cold-runs N          cold starts per function (default 5)
  --no-cpu               skip the handler CPU micro-benchmark
  --profile              profile the local runtime (V8 sampling profiler) and say where its CPU went
                         (all its threads, handler workers included, summed)
  --workers N            local runtime: run the handlers in N worker threads (default ${DEFAULT_LOCAL_WORKERS}, as npm start;
                         0: in its main thread, with the emulator)
  --quiet                no progress lines
`;

export class OptionsError extends Error {}

export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      service: { type: 'string' },
      domain: { type: 'string' },
      users: { type: 'string' },
      password: { type: 'string' },
      accounts: { type: 'string' },
      'server-pid': { type: 'string' },
      mechanism: { type: 'string' },
      scenario: { type: 'string' },
      clients: { type: 'string', short: 'n' },
      rate: { type: 'string' },
      'presence-rate': { type: 'string' },
      duration: { type: 'string' },
      contacts: { type: 'string' },
      concurrency: { type: 'string' },
      to: { type: 'string' },
      'body-bytes': { type: 'string' },
      drain: { type: 'string' },
      warmup: { type: 'string' },
      json: { type: 'string' },
      report: { type: 'boolean' },
      'report-file': { type: 'string' },
      name: { type: 'string' },
      'from-json': { type: 'string' },
      'no-lambda': { type: 'boolean' },
      'cold-runs': { type: 'string' },
      'no-cpu': { type: 'boolean' },
      quiet: { type: 'boolean' },
      profile: { type: 'boolean' },
      workers: { type: 'string' },
    },
  });
  if (values.help) return 'help';
  const number = (name: string, text: string | undefined, fallback: number, min: number) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) throw new OptionsError(`--${name} must be a number ≥ ${min} (got "${text}")`);
    return n;
  };
  const scenarioText = values.scenario ?? 'all';
  const scenarios = scenarioText === 'all' ? (['login', 'chat', 'presence'] as Scenario[]) : (scenarioText.split(',') as Scenario[]);
  for (const s of scenarios) if (!['login', 'chat', 'presence'].includes(s)) throw new OptionsError(`unknown scenario "${s}" (login, chat, presence or all)`);
  const rates = (values.rate ?? '250,500,1000').split(',').map((r) => number('rate', r, 0, 1));
  const mechanism = (values.mechanism ?? 'SCRAM-SHA-1') as MechanismChoice;
  if (!['auto', 'PLAIN', 'SCRAM-SHA-1', 'SCRAM-SHA-256'].includes(mechanism)) throw new OptionsError(`unknown --mechanism ${mechanism}`);
  const to = (values.to ?? 'bare') as 'bare' | 'full';
  if (to !== 'bare' && to !== 'full') throw new OptionsError('--to is bare or full');
  if (values.service !== undefined && !/^wss?:\/\//.test(values.service)) throw new OptionsError('--service is a ws:// or wss:// URL');
  if (values.service !== undefined && values.accounts === undefined && (values.users === undefined || values.password === undefined)) {
    throw new OptionsError('against another server, say which accounts exist: --users PREFIX --password P, or --accounts FILE');
  }
  if (values.service === undefined && (values.users !== undefined || values.accounts !== undefined)) {
    throw new OptionsError('--users and --accounts are for another server (--service); the local runtime makes its own accounts');
  }
  const options: BenchOptions = {
    service: values.service,
    domain: values.domain ?? 'localhost',
    users: values.users,
    password: values.password,
    accountsFile: values.accounts,
    serverPid: values['server-pid'] === undefined ? undefined : number('server-pid', values['server-pid'], 0, 1),
    scenarios,
    clients: number('clients', values.clients, 40, 2),
    rates,
    presenceRate: number('presence-rate', values['presence-rate'], 50, 1),
    durationS: number('duration', values.duration, 10, 1),
    drainS: number('drain', values.drain, 10, 0),
    warmupS: number('warmup', values.warmup, 5, 0),
    contacts: number('contacts', values.contacts, 5, 1),
    mechanism,
    concurrency: number('concurrency', values.concurrency, 0, 0),
    to,
    bodyBytes: number('body-bytes', values['body-bytes'], 0, 0),
    json: values.json,
    report: (values.report ?? false) || values['report-file'] !== undefined,
    reportFile: values['report-file'],
    name: values.name,
    fromJson: values['from-json'],
    lambda: !values['no-lambda'],
    coldRuns: number('cold-runs', values['cold-runs'], 5, 1),
    cpu: !values['no-cpu'],
    profile: values.profile ?? false,
    workers: number('workers', values.workers, DEFAULT_LOCAL_WORKERS, 0),
    quiet: values.quiet ?? false,
  };
  if (options.scenarios.includes('presence') && options.clients < 2 * options.contacts) {
    throw new OptionsError(`presence needs at least 2K clients (-n ${options.clients}, --contacts ${options.contacts})`);
  }
  return options;
}
