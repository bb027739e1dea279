import { fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { startLocal } from '../infra/local/runtime.ts';
import { setAwsCallCounting, type AwsCallTotals } from '../lib/metrics/aws-calls.ts';
import { deriveCredentials } from '../lib/sasl/credentials.ts';
import { Accounts } from '../lib/store/accounts.ts';
import { createDb } from '../lib/store/client.ts';
import { AccountExistsError } from '../lib/store/errors.ts';
import type { RuntimeCall, RuntimeMessage } from './runtime-process.ts';
import type { ProfileBreakdown } from './profile.ts';
import { mapLimit } from './stats.ts';

/** One account the load generator logs in with. */
export interface BenchAccount {
  /** The localpart. */
  username: string;
  password: string;
}

/** What the benchmark runs against: Cirrus's local runtime (started here) or any RFC 7395 server. */
export interface Target {
  kind: 'cirrus-local' | 'external';
  url: string;
  domain: string;
  /** N accounts that exist on the server (the local runtime creates them). */
  accounts(n: number): Promise<BenchAccount[]>;
  /** The AWS call counter of the local runtime. */
  counter?: { reset(): Promise<void>; totals(): Promise<AwsCallTotals> };
  /** A CPU profile of the runtime process, between start and stop (the runtime in a child process only). */
  profiler?: { start(): Promise<void>; stop(): Promise<ProfileBreakdown> };
  /** The local runtime's handler worker threads' profiles (raw), when it has workers: the child process adds them to its own. */
  workerProfiler?: { start(): Promise<void>; stop(): Promise<object[]> };
  /** The local runtime, when the benchmark started it. */
  local?: LocalInfo;
  stop(): Promise<void>;
}

export interface LocalInfo {
  placement: 'same process' | 'child process';
  dynamodbEndpoint: string;
  tableName: string;
  /** The `@connections` endpoint. */
  endpoint: string;
  pids: { runtime: number; dynamodb?: number };
}

export const LOCAL_PASSWORD = 'bench-password';
export const LOCAL_PREFIX = 'bench';

/**
 * Starts Cirrus's local runtime in this process (DynamoDB Local, the API Gateway emulator, the real handlers)
 * with the AWS call counter on. Accounts are written straight to the store, all with one derived credential
 * (PBKDF2 once, not once per account; each account still verifies with the real 4096 iterations at login).
 */
export async function startLocalTarget(options: { domain?: string; dynamodbEndpoint?: string; workers?: number } = {}): Promise<Target> {
  // Before any SDK client exists: the store and @connections clients get the counting middleware.
  setAwsCallCounting(true);
  const domain = options.domain ?? 'localhost';
  const local = await startLocal({
    domains: [domain],
    host: '127.0.0.1',
    port: 0,
    dynamodbEndpoint: options.dynamodbEndpoint,
    workers: options.workers,
  });
  const store = new Accounts(createDb({ endpoint: local.dynamodb.endpoint, tableName: local.config.tableName }));
  let credentials: ReturnType<typeof deriveCredentials> | undefined;
  const created = new Set<string>();
  return {
    kind: 'cirrus-local',
    url: local.url,
    domain,
    local: {
      placement: 'same process',
      dynamodbEndpoint: local.dynamodb.endpoint,
      tableName: local.config.tableName,
      endpoint: local.endpoint,
      pids: { runtime: process.pid, dynamodb: local.dynamodb.pid },
    },
    async accounts(n) {
      credentials ??= deriveCredentials(LOCAL_PASSWORD);
      const accounts = Array.from({ length: n }, (_, i) => ({ username: `${LOCAL_PREFIX}${i + 1}`, password: LOCAL_PASSWORD }));
      await mapLimit(accounts, 16, async ({ username }) => {
        if (created.has(username)) return;
        try {
          await store.create(`${username}@${domain}`, credentials!);
        } catch (error) {
          if (!(error instanceof AccountExistsError)) throw error;
        }
        created.add(username);
      });
      return accounts;
    },
    // The runtime's counter: this thread's and, with handler workers, theirs.
    counter: { reset: () => local.awsCalls.reset(), totals: () => local.awsCalls.totals() },
    workerProfiler: local.workerProfiler,
    stop: () => local.stop(),
  };
}

/**
 * The same local runtime in a child process (bench/runtime-process.ts), so the load generator in this
 * process does not compete with it for one event loop. Accounts and counter totals come over IPC.
 */
export async function startLocalTargetInChild(options: { domain?: string; workers?: number } = {}): Promise<Target> {
  const script = fileURLToPath(new URL('./runtime-process.ts', import.meta.url));
  const child = fork(script, [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      BENCH_DOMAIN: options.domain ?? '',
      BENCH_WORKERS: String(options.workers ?? 0),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    // The runtime's own output goes to stderr, so stdout holds only the results.
    stdio: ['ignore', 2, 2, 'ipc'],
  });
  // If this process ends first, the child (and with it DynamoDB Local) ends too.
  const kill = () => child.kill('SIGTERM');
  process.once('exit', kill);
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => {
      const error = new Error(`the runtime process exited (${signal ?? code})`);
      for (const { reject: fail } of pending.values()) fail(error);
      reject(error);
    }),
  );
  exited.catch(() => undefined);
  const ready = new Promise<Extract<RuntimeMessage, { type: 'ready' }>>((resolve, reject) => {
    child.on('message', (message: RuntimeMessage) => {
      if (message.type !== undefined) {
        if (message.type === 'ready') resolve(message);
        else reject(new Error(`the runtime process failed to start: ${message.error}`));
        return;
      }
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.error !== undefined) waiter?.reject(new Error(message.error));
      else waiter?.resolve(message.result);
    });
  });
  const info = await Promise.race([ready, exited]);
  const call = <T>(request: RuntimeCall): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ ...request, id });
    });
  return {
    kind: 'cirrus-local',
    url: info.url,
    domain: info.domain,
    local: {
      placement: 'child process',
      dynamodbEndpoint: info.dynamodbEndpoint,
      tableName: info.tableName,
      endpoint: new URL(info.url).origin.replace(/^ws/, 'http'),
      pids: { runtime: child.pid!, dynamodb: info.dynamodbPid },
    },
    accounts: (n) => call<BenchAccount[]>({ op: 'accounts', n }),
    counter: { reset: () => call<void>({ op: 'reset' }), totals: () => call<AwsCallTotals>({ op: 'totals' }) },
    profiler: { start: () => call<void>({ op: 'profile-start' }), stop: () => call<ProfileBreakdown>({ op: 'profile-stop' }) },
    async stop() {
      process.off('exit', kill);
      if (child.exitCode !== null || child.signalCode !== null) return;
      await Promise.race([call({ op: 'stop' }), exited]).catch(() => undefined);
      await exited.catch(() => undefined);
    },
  };
}

/**
 * A server started elsewhere (Prosody, ejabberd, Cirrus in AWS or `npm start`): accounts must exist already,
 * either `prefix1`…`prefixN` with one password, or listed in a file.
 */
export function externalTarget(options: { url: string; domain: string; prefix?: string; password?: string; accountsFile?: string }): Target {
  let listed: BenchAccount[] | undefined;
  return {
    kind: 'external',
    url: options.url,
    domain: options.domain,
    async accounts(n) {
      if (options.accountsFile) {
        listed ??= parseAccounts(await readFile(options.accountsFile, 'utf8'), options.domain);
        if (listed.length < n) throw new Error(`${options.accountsFile} lists ${listed.length} accounts; the scenarios need ${n}`);
        return listed.slice(0, n);
      }
      if (!options.prefix || options.password === undefined) {
        throw new Error('against another server, say which accounts exist: --users PREFIX --password P, or --accounts FILE');
      }
      return Array.from({ length: n }, (_, i) => ({ username: `${options.prefix}${i + 1}`, password: options.password! }));
    },
    stop: async () => undefined,
  };
}

/** One account per line: `user password` or `user@domain password` (whitespace or a colon between); `#` comments. */
export function parseAccounts(text: string, domain: string): BenchAccount[] {
  const accounts: BenchAccount[] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(\S+?)(?:\s+|:)(.+)$/.exec(line);
    if (!match) throw new Error(`accounts file, line ${index + 1}: expected "user password"`);
    let username = match[1]!;
    const at = username.indexOf('@');
    if (at >= 0) {
      if (username.slice(at + 1).toLowerCase() !== domain.toLowerCase()) {
        throw new Error(`accounts file, line ${index + 1}: ${username} is not on ${domain}`);
      }
      username = username.slice(0, at);
    }
    accounts.push({ username, password: match[2]!.trim() });
  }
  return accounts;
}
