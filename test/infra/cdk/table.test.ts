import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, test } from 'vitest';
import { createTableInput, TABLE } from '../../../lib/store/table.ts';
import { synthConstruct } from './synth.ts';

describe('the table', () => {
  const local = createTableInput('local');
  let template: ReturnType<typeof synthConstruct>['template'];
  beforeAll(() => {
    template = synthConstruct({ domains: ['example.com'], federation: false }).template;
  });

  test('has the keys of the local definition (lib/store/table.ts), on demand, PITR, TTL on expires, encrypted', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: local.KeySchema,
      AttributeDefinitions: Match.arrayWith(local.AttributeDefinitions),
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
      // DynamoDB always encrypts at rest; SSEEnabled false means with an AWS-owned key (no KMS charge per request).
      SSESpecification: { SSEEnabled: false },
      DeletionProtectionEnabled: true,
    });
  });

  test('is retained with the stack and protected from deletion by default', () => {
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  test('deletionProtection: false deletes it with the stack (test stacks)', () => {
    const { template: unprotected } = synthConstruct({ domains: ['example.com'], federation: false, deletionProtection: false });
    unprotected.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete', Properties: Match.objectLike({ DeletionProtectionEnabled: false }) });
  });
});
