import { randomBytes } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Db } from './client.ts';
import { deleteKeys, queryAll } from './bulk.ts';
import { StoreError } from './errors.ts';

export class OfflineFullError extends StoreError {
  constructor(readonly jid: string) {
    super(`offline storage of ${jid} is full`);
  }
}

export interface StoredMessage {
  sk: string;
  /** The stanza as it was routed, XML. */
  stanza: string;
  /** Epoch ms when it was stored. */
  storedAt: number;
}

const pk = (bare: string) => `USER#${bare}`;
const COUNTER_SK = 'OFFLINE';

/** XEP-0160 offline storage: items USER#<bare> / OFFLINE#<time>#<random>, and a counter item that enforces the cap. */
export class OfflineStore {
  constructor(
    private readonly db: Db,
    private readonly limit: number,
    private readonly retentionSeconds: number,
  ) {}

  /** Stores one message; OfflineFullError once the user already has `limit` messages waiting. */
  async store(bare: string, stanza: string, now = Date.now()): Promise<void> {
    const sk = `OFFLINE#${String(now).padStart(15, '0')}#${randomBytes(6).toString('hex')}`;
    try {
      await this.db.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.db.table,
                Key: { pk: pk(bare), sk: COUNTER_SK },
                UpdateExpression: 'SET n = if_not_exists(n, :zero) + :one',
                ConditionExpression: 'attribute_not_exists(n) OR n < :limit',
                ExpressionAttributeValues: { ':zero': 0, ':one': 1, ':limit': this.limit },
              },
            },
            {
              Put: {
                TableName: this.db.table,
                Item: { pk: pk(bare), sk, stanza, storedAt: now, expires: Math.floor(now / 1000) + this.retentionSeconds },
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (error instanceof TransactionCanceledException && error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') {
        throw new OfflineFullError(bare);
      }
      throw error;
    }
  }

  /** Everything waiting, oldest first, without what has expired (TTL deletes late). */
  async list(bare: string, now = Date.now()): Promise<StoredMessage[]> {
    const items = await queryAll(this.db, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :offline)',
      ExpressionAttributeValues: { ':pk': pk(bare), ':offline': `${COUNTER_SK}#` },
      ConsistentRead: true,
    });
    return items
      .filter((item) => (item.expires as number) * 1000 > now)
      .map((item) => ({ sk: item.sk as string, stanza: item.stanza as string, storedAt: item.storedAt as number }));
  }

  /** Deletes delivered messages and lowers the counter by as many. */
  async remove(bare: string, sks: string[]): Promise<void> {
    if (sks.length === 0) return;
    await deleteKeys(this.db, sks.map((sk) => ({ pk: pk(bare), sk })));
    await this.db.doc.send(
      new UpdateCommand({
        TableName: this.db.table,
        Key: { pk: pk(bare), sk: COUNTER_SK },
        // Expired messages that TTL removed were never subtracted: never let the count go below zero.
        UpdateExpression: 'SET n = if_not_exists(n, :zero) - :k',
        ConditionExpression: 'attribute_not_exists(n) OR n >= :k',
        ExpressionAttributeValues: { ':zero': 0, ':k': sks.length },
      }),
    ).catch(async (error: Error) => {
      if (error.name !== 'ConditionalCheckFailedException') throw error;
      await this.db.doc.send(
        new UpdateCommand({ TableName: this.db.table, Key: { pk: pk(bare), sk: COUNTER_SK }, UpdateExpression: 'SET n = :zero', ExpressionAttributeValues: { ':zero': 0 } }),
      );
    });
  }
}
