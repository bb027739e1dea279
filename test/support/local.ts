import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { startLocal, type LocalOptions, type LocalRuntime } from '../../infra/local/runtime.ts';
import { deriveCredentials } from '../../lib/sasl/credentials.ts';
import { Accounts } from '../../lib/store/accounts.ts';
import { createDb } from '../../lib/store/client.ts';
import { RosterStore } from '../../lib/store/roster.ts';

export interface TestDomain extends LocalRuntime {
  accounts: Accounts;
  /** Creates an account (fast: few PBKDF2 iterations are not used, the real derivation runs). */
  addUser(bare: string, password?: string): Promise<void>;
}

/** The whole local runtime on a free port, on the run's DynamoDB Local with a table of its own. */
export async function startTestDomain(options: Partial<LocalOptions> = {}): Promise<TestDomain> {
  const runtime = await startLocal({
    domains: ['localhost'],
    host: '127.0.0.1',
    port: 0,
    dynamodbEndpoint: inject('dynamodbEndpoint'),
    tableName: `test-${randomUUID()}`,
    ...options,
  });
  const accounts = new Accounts(createDb({ endpoint: runtime.dynamodb.endpoint, tableName: runtime.config.tableName }));
  return {
    ...runtime,
    accounts,
    addUser: (bare, password = 'secret') => accounts.create(bare, deriveCredentials(password)),
  };
}

/** Makes two local users subscribed to each other (both), straight in the store: set-up for presence tests. */
export async function befriend(domain: TestDomain, a: string, b: string): Promise<void> {
  const roster = new RosterStore(createDb({ endpoint: domain.dynamodb.endpoint, tableName: domain.config.tableName }));
  const item = (jid: string) => ({ jid, groups: [], subscription: 'both' as const, ask: false, approved: false, inRoster: true });
  await roster.save(a, item(b));
  await roster.save(b, item(a));
}
