import type { Accounts } from '../../lib/store/accounts.ts';
import { credentialsFor } from './password.ts';

// The `cirrus user …` commands: each takes prepared input and returns what to print.

export async function addUser(accounts: Accounts, jid: string, password: string): Promise<string> {
  await accounts.create(jid, credentialsFor(password));
  return `created ${jid}`;
}

export async function deleteUser(accounts: Accounts, jid: string): Promise<string> {
  await accounts.delete(jid);
  return `deleted ${jid}`;
}

export async function setPassword(accounts: Accounts, jid: string, password: string): Promise<string> {
  await accounts.setCredentials(jid, credentialsFor(password));
  return `password changed for ${jid}`;
}

/** One JID per line; with domains, only their accounts. */
export async function listUsers(accounts: Accounts, domains: readonly string[]): Promise<string> {
  const jids = domains.length === 0 ? await accounts.list() : (await Promise.all(domains.map((d) => accounts.list(d)))).flat().sort();
  return jids.join('\n');
}
