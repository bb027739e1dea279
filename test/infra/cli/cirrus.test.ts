import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { deriveCredentials, verifyPassword } from '../../../lib/sasl/credentials.ts';
import { Accounts } from '../../../lib/store/accounts.ts';
import { freshDb } from '../../support/db.ts';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const cirrus = join(repo, 'bin', 'cirrus.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI in a child process; stdin gets `input` (or nothing) and is then closed. */
function run(args: readonly string[], options: { input?: string; cwd?: string; npx?: boolean } = {}): Promise<Run> {
  const [file, argv] = options.npx ? ['npx', ['cirrus', ...args]] : [process.execPath, [cirrus, ...args]];
  return new Promise((resolve) => {
    const child = execFile(file, argv, { cwd: options.cwd ?? repo, timeout: 15_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
    // A CLI that exits before reading stdin closes the pipe: that EPIPE is not a test failure.
    child.stdin!.on('error', () => undefined).end(options.input ?? '');
  });
}

const verifies = (password: string, account: Awaited<ReturnType<Accounts['get']>>) =>
  (['SCRAM-SHA-1', 'SCRAM-SHA-256'] as const).every((m) => verifyPassword(password, account!.credentials[m], m));

let accounts: Accounts;
let store: string[];

beforeAll(async () => {
  const db = await freshDb();
  accounts = new Accounts(db);
  store = ['--dynamodb-endpoint', db.endpoint, '--table', db.table, '--domain', 'localhost'];
});

describe.concurrent('user add', () => {
  test('creates the account under the prepared JID with credentials that verify the password', async ({ expect }) => {
    const result = await run(['user', 'add', 'ALICE@LocalHost', '--password', 'wonderland', ...store]);
    expect(result).toMatchObject({ code: 0, stdout: 'created alice@localhost\n' });
    const account = await accounts.get('alice@localhost');
    expect(verifies('wonderland', account)).toBe(true);
    expect(verifies('wrong', account)).toBe(false);
  });

  test('reads the password from stdin when --password is absent', async ({ expect }) => {
    const result = await run(['user', 'add', 'stdin@localhost', ...store], { input: 'from stdin\nignored\n' });
    expect(result).toMatchObject({ code: 0, stdout: 'created stdin@localhost\n' });
    expect(verifies('from stdin', await accounts.get('stdin@localhost'))).toBe(true);
  });

  test('of an existing account exits 1 and keeps its password', async ({ expect }) => {
    await run(['user', 'add', 'dup@localhost', '--password', 'first', ...store]);
    const result = await run(['user', 'add', 'dup@localhost', '--password', 'second', ...store]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('dup@localhost already exists');
    expect(verifies('first', await accounts.get('dup@localhost'))).toBe(true);
  });

  test.for([
    ['an invalid JID', 'bad jid@localhost', "invalid JID 'bad jid@localhost'"],
    ['a JID with a resource', 'bob@localhost/phone', 'has a resource'],
    ['a JID without a local part', 'localhost', 'no local part'],
  ] as const)('of %s exits 2 saying why', async ([, jid, message], { expect }) => {
    const result = await run(['user', 'add', jid, '--password', 'pw', ...store]);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toContain(message);
  });

  test('in a domain not served exits 2 naming the served domains', async ({ expect }) => {
    const result = await run(['user', 'add', 'bob@example.com', '--password', 'pw', ...store]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('example.com is not served here (served: localhost)');
    expect(await accounts.get('bob@example.com')).toBeUndefined();
  });

  test.for([
    ['empty', ''],
    ['rejected by SASLprep', 'bell\u0007'],
  ] as const)('with a password %s exits 2', async ([, password], { expect }) => {
    const result = await run(['user', 'add', 'nopw@localhost', ...store], { input: `${password}\n` });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('password rejected');
    expect(await accounts.get('nopw@localhost')).toBeUndefined();
  });
});

describe.concurrent('user passwd', () => {
  test('replaces the password', async ({ expect }) => {
    await accounts.create('pat@localhost', deriveCredentials('old', 64));
    const result = await run(['user', 'passwd', 'pat@localhost', '--password', 'new', ...store]);
    expect(result).toMatchObject({ code: 0, stdout: 'password changed for pat@localhost\n' });
    const account = await accounts.get('pat@localhost');
    expect(verifies('new', account)).toBe(true);
    expect(verifies('old', account)).toBe(false);
  });

  test('of an unknown account exits 1', async ({ expect }) => {
    const result = await run(['user', 'passwd', 'ghost@localhost', '--password', 'x', ...store]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ghost@localhost does not exist');
  });
});

describe.concurrent('user del', () => {
  test('deletes the account', async ({ expect }) => {
    await run(['user', 'add', 'gone@localhost', '--password', 'pw', ...store]);
    const result = await run(['user', 'del', 'Gone@localhost', ...store]);
    expect(result).toMatchObject({ code: 0, stdout: 'deleted gone@localhost\n' });
    expect(await accounts.get('gone@localhost')).toBeUndefined();
  });

  test('of an unknown account exits 1', async ({ expect }) => {
    const result = await run(['user', 'del', 'ghost@localhost', ...store]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ghost@localhost does not exist');
  });
});

describe.concurrent('user list', () => {
  test('prints the accounts one per line, sorted, of the --domain given (also through npx)', async ({ expect }) => {
    const db = await freshDb();
    const target = ['--dynamodb-endpoint', db.endpoint, '--table', db.table];
    await Promise.all(
      ['zed@localhost', 'amy@example.com', 'bea@localhost'].map((jid) => run(['user', 'add', jid, '--password', 'pw', ...target])),
    );
    expect(await run(['user', 'list', ...target])).toMatchObject({
      code: 0,
      stdout: 'amy@example.com\nbea@localhost\nzed@localhost\n',
    });
    expect(await run(['user', 'list', '--domain', 'LocalHost', ...target], { npx: true })).toMatchObject({
      code: 0,
      stdout: 'bea@localhost\nzed@localhost\n',
    });
  });
});

describe.concurrent('where the store is', () => {
  // A directory of its own per test: these run concurrently, and only one has a local.json.
  const dirs: string[] = [];
  const tempCwd = async () => {
    dirs.push(await mkdtemp(join(tmpdir(), 'cirrus-cli-')));
    return dirs.at(-1)!;
  };
  afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  test('without .cirrus/local.json or flags, says the local runtime is not running and exits 1', async ({ expect }) => {
    const result = await run(['user', 'list'], { cwd: await tempCwd() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("the local runtime doesn't seem to be running");
    expect(result.stderr).toContain('npm start');
    expect(result.stderr).toContain('--dynamodb-endpoint/--table');
  });

  test('by default is the local runtime of .cirrus/local.json, whose domains are enforced', async ({ expect }) => {
    const [db, cwd] = await Promise.all([freshDb(), tempCwd()]);
    await mkdir(join(cwd, '.cirrus'), { recursive: true });
    const local = { dynamodbEndpoint: db.endpoint, tableName: db.table, domains: ['localhost'], region: 'local' };
    await writeFile(join(cwd, '.cirrus', 'local.json'), JSON.stringify(local));

    expect(await run(['user', 'add', 'local@localhost', '--password', 'pw'], { cwd })).toMatchObject({ code: 0 });
    expect(await new Accounts(db).list()).toEqual(['local@localhost']);
    const elsewhere = await run(['user', 'add', 'x@example.com', '--password', 'pw'], { cwd });
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain('served: localhost');
  });

  test('--stack with --dynamodb-endpoint is refused with exit 2 (test/infra/cli/stack.test.ts covers --stack)', async ({ expect }) => {
    const result = await run(['user', 'list', '--stack', 'Cirrus', '--dynamodb-endpoint', 'http://127.0.0.1:9']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--stack names the table: it cannot go with --dynamodb-endpoint');
  });
});

describe.concurrent('command line', () => {
  test('--help prints the usage and exits 0', async ({ expect }) => {
    const result = await run(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: cirrus/);
  });

  test.for([
    ['an unknown command', ['user', 'frob']],
    ['an unknown flag', ['user', 'list', '--frob']],
    ['a missing argument', ['user', 'add']],
    ['--password on a command without one', ['user', 'del', 'a@localhost', '--password', 'x']],
  ] as const)('with %s exits 2 with the usage', async ([, args], { expect }) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Usage: cirrus');
  });
});
