import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoreOptions } from '../../lib/store/client.ts';
import { DEFAULT_TABLE_NAME } from '../../lib/store/table.ts';
import { CliError, EXIT_FAILURE, UsageError } from './errors.ts';

/** Where the accounts are, and which domains may have accounts when that is known. */
export interface Target {
  store: StoreOptions;
  domains?: string[];
}

export interface TargetFlags {
  dynamodbEndpoint?: string;
  table?: string;
  region?: string;
  /** Prepared. */
  domains: string[];
  stack?: string;
}

/** What the local runtime (`npm start`) writes while it runs. */
interface LocalRuntime {
  dynamodbEndpoint: string;
  tableName: string;
  domains: string[];
  region?: string;
}

export const LOCAL_RUNTIME_FILE = join('.cirrus', 'local.json');

/**
 * `--stack` reads the table, its region and the domains from a deployed stack's outputs. An explicit endpoint or
 * table names the store entirely (mixing in the local runtime's file could point an AWS table name at DynamoDB
 * Local); otherwise the running local runtime, which flags refine.
 */
export async function resolveTarget(flags: TargetFlags, cwd = process.cwd()): Promise<Target> {
  const domains = flags.domains.length > 0 ? flags.domains : undefined;
  if (flags.stack !== undefined) {
    // The stack names the table and its region; an endpoint or another table would contradict it.
    const conflicting = [flags.dynamodbEndpoint !== undefined && '--dynamodb-endpoint', flags.table !== undefined && '--table'].filter(Boolean);
    if (conflicting.length > 0) throw new UsageError(`--stack names the table: it cannot go with ${conflicting.join(' or ')}`);
    // Loaded only here: the CloudFormation client is not needed for the local runtime.
    const { readStack } = await import('./stack.ts');
    const stack = await readStack(flags.stack, { region: flags.region });
    return { store: { tableName: stack.tableName, region: stack.region }, domains: domains ?? (stack.domains.length > 0 ? stack.domains : undefined) };
  }
  if (flags.dynamodbEndpoint !== undefined || flags.table !== undefined) {
    return {
      store: { endpoint: flags.dynamodbEndpoint, tableName: flags.table ?? DEFAULT_TABLE_NAME, region: flags.region },
      domains,
    };
  }
  const local = await readLocalRuntime(join(cwd, LOCAL_RUNTIME_FILE));
  return {
    store: { endpoint: local.dynamodbEndpoint, tableName: local.tableName, region: flags.region ?? local.region },
    domains: domains ?? local.domains,
  };
}

async function readLocalRuntime(path: string): Promise<LocalRuntime> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new CliError(
      "the local runtime doesn't seem to be running (no .cirrus/local.json here): start it with `npm start`, " +
        'or pass --dynamodb-endpoint/--table',
      EXIT_FAILURE,
    );
  }
  let local: Partial<LocalRuntime>;
  try {
    local = JSON.parse(text) as Partial<LocalRuntime>;
  } catch {
    throw new CliError(`${path} is not valid JSON`, EXIT_FAILURE);
  }
  if (typeof local.dynamodbEndpoint !== 'string' || typeof local.tableName !== 'string' || !Array.isArray(local.domains)) {
    throw new CliError(`${path} lacks dynamodbEndpoint, tableName or domains`, EXIT_FAILURE);
  }
  return local as LocalRuntime;
}
