import { RemovalPolicy, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption, type Attribute } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { createTableInput, TABLE } from '../../lib/store/table.ts';

export interface XmppTableProps {
  /**
   * Keep the table when the stack is deleted, and refuse to delete it through DynamoDB (deletion protection).
   * @default true
   */
  readonly deletionProtection?: boolean;
}

/** What `createTableInput` describes, loosely typed: the local definition may grow indexes. */
interface TableDefinition {
  AttributeDefinitions: ReadonlyArray<{ AttributeName: string; AttributeType: string }>;
  KeySchema: ReadonlyArray<{ AttributeName: string; KeyType: string }>;
  GlobalSecondaryIndexes?: ReadonlyArray<{
    IndexName: string;
    KeySchema: ReadonlyArray<{ AttributeName: string; KeyType: string }>;
    Projection?: { ProjectionType?: string; NonKeyAttributes?: string[] };
  }>;
}

/**
 * The one DynamoDB table, built from the same definition the local runtime creates (lib/store/table.ts):
 * same keys, same indexes, plus what only AWS has: on-demand billing, point-in-time recovery, TTL,
 * deletion protection.
 */
export class XmppTable extends Construct {
  readonly table: Table;
  private readonly indexNames: string[];

  constructor(scope: Construct, id: string, props: XmppTableProps = {}) {
    super(scope, id);
    const retain = props.deletionProtection ?? true;
    // The name is a placeholder: only the shape is read, CloudFormation names the table.
    const definition = createTableInput('unused') as TableDefinition;
    const attribute = (name: string): Attribute => {
      const type = definition.AttributeDefinitions.find((a) => a.AttributeName === name)?.AttributeType;
      return { name, type: ATTRIBUTE_TYPES[type ?? ''] ?? AttributeType.STRING };
    };
    const keys = (schema: TableDefinition['KeySchema']) => {
      const hash = schema.find((k) => k.KeyType === 'HASH');
      const range = schema.find((k) => k.KeyType === 'RANGE');
      if (!hash) throw new Error('the table definition has no partition key');
      return { partitionKey: attribute(hash.AttributeName), sortKey: range ? attribute(range.AttributeName) : undefined };
    };

    this.table = new Table(this, 'Table', {
      ...keys(definition.KeySchema),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TABLE.ttlAttribute,
      // Encrypted at rest with an AWS-owned key: no KMS charge per request, nothing to manage.
      encryption: TableEncryption.DEFAULT,
      deletionProtection: retain,
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.indexNames = (definition.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName);
    for (const index of definition.GlobalSecondaryIndexes ?? []) {
      const projection = index.Projection?.ProjectionType;
      this.table.addGlobalSecondaryIndex({
        indexName: index.IndexName,
        ...keys(index.KeySchema),
        projectionType: projection === 'KEYS_ONLY' ? ProjectionType.KEYS_ONLY : projection === 'INCLUDE' ? ProjectionType.INCLUDE : ProjectionType.ALL,
        nonKeyAttributes: projection === 'INCLUDE' ? index.Projection?.NonKeyAttributes : undefined,
      });
    }
  }

  /**
   * Item reads and writes on the table and its indexes, nothing else (no table management, no streams of other
   * tables). With indexes the grant names `table/index/*`, which cdk-nag reports: acknowledged here, on the grantee.
   */
  grantReadWriteData(grantee: IGrantable): void {
    this.table.grantReadWriteData(grantee);
    if (this.indexNames.length === 0 || !Construct.isConstruct(grantee.grantPrincipal)) return;
    const tableId = Stack.of(this).getLogicalId(this.table.node.defaultChild as CfnElement);
    Validations.of(grantee.grantPrincipal).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${tableId}.Arn>/index/*]`,
      reason: `The indexes of this table only (${this.indexNames.join(', ')}): queries by index need them.`,
    });
  }
}

const ATTRIBUTE_TYPES: Record<string, AttributeType> = { S: AttributeType.STRING, N: AttributeType.NUMBER, B: AttributeType.BINARY };
