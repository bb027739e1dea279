import { readFile, writeFile } from 'node:fs/promises';
import { UNLABELLED, type AwsCallTotals } from '../lib/metrics/aws-calls.ts';
import { costRows, type CostRow } from './cost.ts';
import { measureHandlerCpu, type HandlerCpuRow } from './handler-cpu.ts';
import { measureBundles, type BundleResult } from './lambda.ts';
import { describeMachine, type Machine } from './machine.ts';
import { OptionsError, parseOptions, USAGE, type BenchOptions } from './options.ts';
import { cpuMeter } from './process-cpu.ts';
import type { ProfileBreakdown } from './profile.ts';
import { Progress } from './progress.ts';
import { checkTargets, renderText, writeReport, type TargetCheck } from './report.ts';
import { chat, type ChatResult } from './scenarios/chat.ts';
import { loginStorm, type LoginResult } from './scenarios/login.ts';
import { presence, type PresenceResult } from './scenarios/presence.ts';
import { externalTarget, startLocalTargetInChild, type Target } from './target.ts';
import type { XmppWsClient } from './xmpp/client.ts';

/** How busy each process was during a scenario, in cores (1 = one core flat out). */
export type CpuShare = Record<string, number>;

export type CountedPhase = 'login' | 'chat' | 'presence' | 'logout';

export interface BenchResults {
  machine: Machine;
  /** The options, without the password. */
  options: Omit<BenchOptions, 'password'>;
  target: { kind: Target['kind']; url: string; domain: string; placement?: string };
  login?: LoginResult & { cpu: CpuShare };
  chat?: ChatResult[];
  presence?: PresenceResult & { cpu: CpuShare };
  /** AWS calls per incoming stanza type, counted in the local runtime, per scenario. */
  aws?: Partial<Record<CountedPhase, CostRow[]>>;
  bundles?: BundleResult[];
  handlerCpu?: HandlerCpuRow[];
  /** With --profile: where the local runtime's CPU went during an extra, unreported chat step. */
  runtimeProfile?: ProfileBreakdown & { rate: number; durationS: number };
  targets?: TargetCheck[];
  /** What failed (a scenario that could not run); the rest of the results stand. */
  errors: string[];
}

export async function runBench(options: BenchOptions): Promise<BenchResults> {
  const progress = new Progress(options.quiet);
  const { password: _password, ...shown } = options;
  const results: BenchResults = { machine: describeMachine(), options: shown, target: { kind: 'external', url: '', domain: options.domain }, errors: [] };
  progress.note(options.service ? `target: ${options.service} (${options.domain})` : 'starting the local runtime (DynamoDB Local, gateway, handlers) in a child process…');
  const target = options.service
    ? externalTarget({ url: options.service, domain: options.domain, prefix: options.users, password: options.password, accountsFile: options.accountsFile })
    : await startLocalTargetInChild({ domain: options.domain, workers: options.workers });
  const placement = target.local && `${target.local.placement}${options.workers ? `, handlers in ${options.workers} worker thread${options.workers === 1 ? '' : 's'}` : ''}`;
  results.target = { kind: target.kind, url: target.url, domain: target.domain, placement };
  const pids = { generator: process.pid, runtime: target.local?.pids.runtime, dynamodb: target.local?.pids.dynamodb, server: options.serverPid };
  let clients: XmppWsClient[] = [];
  /** Runs a phase with the AWS call counter reset before and read after (local runtime only). */
  const counted = async <T>(name: CountedPhase, run: () => Promise<T>, connects = 0): Promise<T> => {
    await target.counter?.reset();
    const value = await run();
    if (target.counter) {
      // A record is counted when its handler returns, which can be just after the client saw its answer.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const totals: AwsCallTotals = await target.counter.totals();
      // `$connect` runs outside any SQS record, so its calls are unlabelled; during a phase nothing else is.
      const outside = totals[UNLABELLED];
      if (outside && outside.records === 0) {
        delete totals[UNLABELLED];
        if (connects > 0) totals['$connect'] = { ...outside, records: connects };
      }
      (results.aws ??= {})[name] = costRows(totals);
    }
    return value;
  };
  try {
    await runScenarios();
  } catch (error) {
    results.errors.push((error as Error).message);
  }
  /** Logs in, runs the chosen scenarios, logs out; the AWS calls of each phase are counted apart. */
  async function runScenarios() {
    try {
      const accounts = await target.accounts(options.clients);
      if (options.warmupS > 0) await warmUp(target, accounts.slice(0, 10), options, progress);
      progress.note(`${accounts.length} accounts ready; logging in (${options.mechanism}${options.concurrency ? `, ${options.concurrency} at a time` : ', all at once'})`);
      const meter = cpuMeter(pids);
      const login = await counted(
        'login',
        () => loginStorm({ url: target.url, domain: target.domain, accounts, mechanism: options.mechanism, concurrency: options.concurrency, timeoutMs: 60_000, progress }),
        accounts.length,
      );
      clients = login.clients;
      results.login = { ...login.result, cpu: meter() };
      if (!options.scenarios.includes('login')) delete results.aws?.login;
      if (login.result.failed > 0) results.errors.push(`${login.result.failed} logins failed, e.g. ${login.result.failures[0]}`);

      if (options.scenarios.includes('chat')) {
        try {
          const meter = () => cpuMeter(pids);
          results.chat = await counted('chat', () =>
            chat({ clients, rates: options.rates, durationS: options.durationS, drainS: options.drainS, to: options.to, bodyBytes: options.bodyBytes, progress, meter }),
          );
        } catch (error) {
          results.errors.push(`chat: ${(error as Error).message}`);
        }
      }
      if (options.scenarios.includes('presence')) {
        try {
          const meterPresence = cpuMeter(pids);
          const outcome = await counted('presence', () =>
            presence({ clients, contacts: options.contacts, rate: options.presenceRate, durationS: options.durationS, drainS: options.drainS, progress }),
          );
          results.presence = { ...outcome, cpu: meterPresence() };
        } catch (error) {
          results.errors.push(`presence: ${(error as Error).message}`);
        }
      }
      if (options.profile && target.profiler && clients.length >= 2) {
        // Its own step, after the measured ones: the profiler slows the runtime, so its figures are not reported.
        const rate = options.rates.at(-1)!;
        progress.note(`profiling the runtime during one more chat step at ${rate}/s (not reported)`);
        await target.profiler.start();
        await chat({ clients, rates: [rate], durationS: options.durationS, drainS: options.drainS, to: options.to, bodyBytes: options.bodyBytes, progress });
        results.runtimeProfile = { ...(await target.profiler.stop()), rate, durationS: options.durationS };
      }
    } finally {
      progress.note(`closing ${clients.length} streams`);
      await counted('logout', async () => {
        await Promise.all(clients.map((client) => client.close()));
        // `$disconnect` is queued behind each connection's last frame: give the runtime a moment to handle it.
        await new Promise((resolve) => setTimeout(resolve, 1000));
      });
    }
  }
  try {
    if (target.local && options.lambda) {
      progress.note(`bundling the Lambda functions and timing ${options.coldRuns} cold starts each…`);
      results.bundles = await measureBundles({ dynamodbEndpoint: target.local.dynamodbEndpoint, domain: target.domain, runs: options.coldRuns });
    }
    if (target.local && options.cpu) {
      progress.note('handler CPU micro-benchmark (in this process, fake ports: I/O excluded)…');
      results.handlerCpu = await measureHandlerCpu({ dynamodbEndpoint: target.local.dynamodbEndpoint, domain: target.domain, contacts: options.contacts, ms: 1000 });
    }
  } catch (error) {
    results.errors.push(String((error as Error).stack ?? error));
  } finally {
    await target.stop();
  }

  if (target.local) results.targets = checkTargets(results);
  return results;
}

/**
 * A few clients log in and chat a little before anything is measured: the first requests a fresh JVM
 * (DynamoDB Local) and a fresh Node process serve are several times slower than the steady state.
 */
async function warmUp(target: Target, accounts: Awaited<ReturnType<Target['accounts']>>, options: BenchOptions, progress: Progress): Promise<void> {
  progress.note(`warming up for ${options.warmupS} s (${accounts.length} clients, not measured)`);
  const { clients } = await loginStorm({ url: target.url, domain: target.domain, accounts, mechanism: options.mechanism, concurrency: 0, timeoutMs: 60_000, resourcePrefix: 'warmup-' });
  try {
    // At the first step's rate (200/s at most), so the first measured step does not pay for the JIT.
    const rate = Math.min(options.rates[0] ?? 50, 200);
    if (clients.length >= 2) await chat({ clients, rates: [rate], durationS: options.warmupS, drainS: 5, to: options.to, bodyBytes: 0 });
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function main(argv: string[]): Promise<number> {
  let options;
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (error instanceof OptionsError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  if (options === 'help') {
    console.log(USAGE);
    return 0;
  }
  let results: BenchResults;
  if (options.fromJson) {
    results = JSON.parse(await readFile(options.fromJson, 'utf8')) as BenchResults;
    // The saved run's own options, but this command line's report destination.
    results.options = { ...results.options, reportFile: options.reportFile };
    if (results.target.kind === 'cirrus-local') results.targets = checkTargets(results);
  } else results = await runBench(options);
  console.log(renderText(results));
  if (options.json) {
    await writeFile(options.json, `${JSON.stringify(results, null, 2)}\n`);
    console.error(`results written to ${options.json}`);
  }
  if (options.report) console.error(`report written to ${await writeReport(results)}`);
  const lostOrDuplicated = [...(results.chat ?? []), ...(results.presence ? [results.presence] : [])].some((r) => r.lost > 0 || r.duplicated > 0);
  return results.errors.length > 0 || lostOrDuplicated ? 1 : 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  console.error(`bench: ${(error as Error).message}`);
  process.exitCode = 1;
}
