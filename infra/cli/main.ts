import { parseArgs } from 'node:util';
import { Accounts } from '../../lib/store/accounts.ts';
import { createDb } from '../../lib/store/client.ts';
import { StoreError } from '../../lib/store/errors.ts';
import { CliError, EXIT_FAILURE, UsageError } from './errors.ts';
import { accountJid, domainArgs } from './jid-args.ts';
import { readPassword } from './password.ts';
import { resolveTarget, type Target } from './target.ts';
import { USAGE } from './usage.ts';
import { addUser, deleteUser, listUsers, setPassword } from './user.ts';

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  password: { type: 'string' },
  domain: { type: 'string', multiple: true },
  'dynamodb-endpoint': { type: 'string' },
  table: { type: 'string' },
  region: { type: 'string' },
  stack: { type: 'string' },
} as const;

/** Each `user` subcommand and how many positional arguments it takes. */
const USER_COMMANDS: Record<string, number> = { add: 1, del: 1, passwd: 1, list: 0 };
const TAKES_PASSWORD = new Set(['add', 'passwd']);

/** Runs one command line; returns the exit code (0 ok, 1 failed, 2 bad input). */
export async function main(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parse(argv);
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const [group, command, ...args] = positionals;
    if (group !== 'user') throw new UsageError(group === undefined ? 'no command given' : `unknown command '${group}'`);
    if (command === undefined || !Object.hasOwn(USER_COMMANDS, command)) {
      throw new UsageError(command === undefined ? 'no user command given' : `unknown command 'user ${command}'`);
    }
    if (args.length !== USER_COMMANDS[command]) throw new UsageError(`wrong number of arguments for 'user ${command}'`);
    if (values.password !== undefined && !TAKES_PASSWORD.has(command)) {
      throw new UsageError(`'user ${command}' takes no --password`);
    }

    const domains = domainArgs(values.domain ?? []);
    const target = await resolveTarget({
      dynamodbEndpoint: values['dynamodb-endpoint'],
      table: values.table,
      region: values.region,
      domains,
      stack: values.stack,
    });
    const accounts = new Accounts(createDb(target.store));
    const output = await dispatch(command, args[0] ?? '', { password: values.password, domains }, target, accounts).catch((error: unknown) => {
      throw explainStoreFailure(error, target);
    });
    if (output) console.log(output);
    return 0;
  } catch (error) {
    return report(error);
  }
}

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // node:util reports a bad command line with ERR_PARSE_ARGS_* codes.
    if (String((error as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS')) throw new UsageError((error as Error).message);
    throw error;
  }
}

/** Runs a `user` command; the JID is checked before the password is asked for. */
async function dispatch(
  command: string,
  jidArg: string,
  flags: { password?: string; domains: string[] },
  target: Target,
  accounts: Accounts,
): Promise<string> {
  switch (command) {
    case 'add': {
      const jid = accountJid(jidArg, target.domains);
      return addUser(accounts, jid, await readPassword(flags.password));
    }
    case 'passwd': {
      const jid = accountJid(jidArg, target.domains);
      return setPassword(accounts, jid, await readPassword(flags.password));
    }
    case 'del':
      return deleteUser(accounts, accountJid(jidArg, target.domains));
    default:
      return listUsers(accounts, flags.domains);
  }
}

/** Domain errors speak for themselves; an unreachable endpoint or a missing table gets a hint. */
function explainStoreFailure(error: unknown, { store }: Target): unknown {
  if (error instanceof StoreError || error instanceof CliError) return error;
  const where = store.endpoint ?? 'AWS';
  const { code, name } = error as { code?: string; name?: string };
  if (code === 'ECONNREFUSED') {
    return new CliError(`cannot reach DynamoDB at ${where}: is the local runtime running? (npm start)`, EXIT_FAILURE);
  }
  if (name === 'ResourceNotFoundException') return new CliError(`no table '${store.tableName}' at ${where}`, EXIT_FAILURE);
  return error;
}

function report(error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`cirrus: ${message}`);
  if (error instanceof UsageError) console.error(`\n${USAGE}`);
  return error instanceof CliError ? error.exitCode : EXIT_FAILURE;
}
