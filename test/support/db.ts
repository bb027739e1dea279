import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { createDb, type Db } from '../../lib/store/client.ts';
import { ensureTable } from '../../lib/store/create-table.ts';

/** A fresh table in the run's DynamoDB Local, so test files never see each other's data. */
export async function freshDb(): Promise<Db & { endpoint: string }> {
  const endpoint = inject('dynamodbEndpoint');
  const db = createDb({ endpoint, tableName: `test-${randomUUID()}` });
  await ensureTable(db);
  return { ...db, endpoint };
}
