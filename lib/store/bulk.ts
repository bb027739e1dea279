import { BatchWriteCommand, QueryCommand, ScanCommand, type QueryCommandInput, type ScanCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Db } from './client.ts';
import { StoreError } from './errors.ts';

type Item = Record<string, unknown>;

/** Every item a Query matches, page after page (DynamoDB pages at 1 MB). */
export function queryAll(db: Db, input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>): Promise<Item[]> {
  return allPages((ExclusiveStartKey) => db.doc.send(new QueryCommand({ ...input, TableName: db.table, ExclusiveStartKey })));
}

/** Every item a Scan matches, page after page: for admin tools only, never per stanza. */
export function scanAll(db: Db, input: Omit<ScanCommandInput, 'TableName' | 'ExclusiveStartKey'>): Promise<Item[]> {
  return allPages((ExclusiveStartKey) => db.doc.send(new ScanCommand({ ...input, TableName: db.table, ExclusiveStartKey })));
}

async function allPages(page: (start: Item | undefined) => Promise<{ Items?: Item[]; LastEvaluatedKey?: Item }>): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const { Items, LastEvaluatedKey } = await page(start);
    items.push(...(Items ?? []));
    start = LastEvaluatedKey;
  } while (start);
  return items;
}

export type Key = { pk: string; sk: string };

// BatchWriteItem takes at most 25 requests.
const BATCH_SIZE = 25;
const MAX_BATCH_ATTEMPTS = 8;

/** Deletes items by key, 25 to a BatchWriteItem; what comes back unprocessed (throttling) is retried with backoff. */
export async function deleteKeys(db: Db, keys: Key[]): Promise<void> {
  for (let start = 0; start < keys.length; start += BATCH_SIZE) {
    let requests = keys.slice(start, start + BATCH_SIZE).map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 1; requests.length > 0; attempt++) {
      if (attempt > MAX_BATCH_ATTEMPTS) throw new StoreError(`could not delete ${requests.length} items under ${keys[0]!.pk}`);
      if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      const { UnprocessedItems } = await db.doc.send(new BatchWriteCommand({ RequestItems: { [db.table]: requests } }));
      requests = (UnprocessedItems?.[db.table] ?? []) as typeof requests;
    }
  }
}
