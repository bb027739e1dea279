import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Credentials } from '../sasl/credentials.ts';
import { deleteKeys, queryAll, scanAll, type Key } from './bulk.ts';
import type { Db } from './client.ts';
import { AccountExistsError, AccountNotFoundError } from './errors.ts';

/** A registered user (item USER#<bare> / ACCOUNT). Only SCRAM keys are kept, never a password. */
export interface Account {
  /** Bare JID, prepared. */
  jid: string;
  credentials: Credentials;
  /** ISO 8601. */
  createdAt: string;
}

const ACCOUNT = 'ACCOUNT';
const userPk = (bare: string) => `USER#${bare}`;
const accountKey = (bare: string) => ({ pk: userPk(bare), sk: ACCOUNT });

/** Accounts by prepared bare JID; callers prepare JIDs (lib/jid.ts), this store compares them as strings. */
export class Accounts {
  constructor(private readonly db: Db) {}

  async get(bareJid: string): Promise<Account | undefined> {
    // Strongly consistent: an account created or re-keyed a moment ago must authenticate at once.
    const { Item } = await this.db.doc.send(
      new GetCommand({ TableName: this.db.table, Key: accountKey(bareJid), ConsistentRead: true }),
    );
    return Item ? { jid: Item.jid as string, credentials: Item.credentials as Credentials, createdAt: Item.createdAt as string } : undefined;
  }

  async create(bareJid: string, credentials: Credentials): Promise<void> {
    const item = { ...accountKey(bareJid), jid: bareJid, credentials, createdAt: new Date().toISOString() };
    const put = new PutCommand({ TableName: this.db.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' });
    if (!(await this.conditional(put))) throw new AccountExistsError(bareJid);
  }

  async setCredentials(bareJid: string, credentials: Credentials): Promise<void> {
    const update = new UpdateCommand({
      TableName: this.db.table,
      Key: accountKey(bareJid),
      UpdateExpression: 'SET credentials = :c',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':c': credentials },
    });
    if (!(await this.conditional(update))) throw new AccountNotFoundError(bareJid);
  }

  /**
   * Deletes the account, then everything else under its partition (sessions, roster, offline
   * messages). The account goes first so nobody can log in while the rest is swept; an unknown
   * account is swept too, so retrying a delete whose sweep failed halfway cleans up what is left.
   */
  async delete(bareJid: string): Promise<void> {
    const existed = await this.conditional(
      new DeleteCommand({ TableName: this.db.table, Key: accountKey(bareJid), ConditionExpression: 'attribute_exists(pk)' }),
    );
    await deleteKeys(this.db, await this.keysUnder(userPk(bareJid)));
    if (!existed) throw new AccountNotFoundError(bareJid);
  }

  /** Every account's bare JID, optionally of one (prepared) domain, sorted. A full table Scan: admin use only. */
  async list(domain?: string): Promise<string[]> {
    const items = await scanAll(this.db, {
      FilterExpression: 'sk = :account',
      ExpressionAttributeValues: { ':account': ACCOUNT },
      ProjectionExpression: 'jid',
      ConsistentRead: true,
    });
    const jids = items.map((item) => item.jid as string);
    // DynamoDB has no suffix match on a key, so the domain is filtered here.
    const wanted = domain === undefined ? jids : jids.filter((jid) => jid.slice(jid.indexOf('@') + 1) === domain);
    return wanted.sort();
  }

  private async keysUnder(pk: string): Promise<Key[]> {
    const items = await queryAll(this.db, {
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
      ProjectionExpression: 'pk, sk',
      ConsistentRead: true,
    });
    return items.map((item) => ({ pk: item.pk as string, sk: item.sk as string }));
  }

  /** Runs a conditional write; false when its condition failed (the caller names the domain error). */
  private async conditional(command: PutCommand | UpdateCommand | DeleteCommand): Promise<boolean> {
    try {
      await this.db.doc.send(command as PutCommand);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
