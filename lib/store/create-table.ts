import { CreateTableCommand, DescribeTableCommand, ResourceInUseException, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import type { Db } from './client.ts';
import { createTableInput, TABLE } from './table.ts';

/** Creates the table if it does not exist (local runtime and tests; CDK owns it in AWS). */
export async function ensureTable(db: Db): Promise<void> {
  try {
    await db.doc.send(new CreateTableCommand(createTableInput(db.table)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    return;
  }
  await db.doc.send(new DescribeTableCommand({ TableName: db.table }));
  await db.doc.send(
    new UpdateTimeToLiveCommand({
      TableName: db.table,
      TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
    }),
  );
}
