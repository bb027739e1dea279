import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect as expectOutside, test } from 'vitest';
import { sendMessageTemplate } from '../../../infra/constructs/websocket.ts';
import { synthApp } from './synth.ts';

// The client path (RFC 7395 over API Gateway → SQS FIFO → stanza function), as `npx cdk synth -c domain=example.com` builds it.
let template: ReturnType<typeof synthApp>['template'];
let ids: { frames: string; deadLetter: string; sendRole: string; api: string; stanza: string; connect: string };

const only = (found: Record<string, unknown>): string => {
  const keys = Object.keys(found);
  if (keys.length !== 1) throw new Error(`expected one match, found ${keys.join(', ') || 'none'}`);
  return keys[0]!;
};

beforeAll(() => {
  template = synthApp({ domain: 'Example.COM,chat.example.org' }).template;
  ids = {
    frames: only(template.findResources('AWS::SQS::Queue', { Properties: { RedrivePolicy: { maxReceiveCount: 3 } } })),
    deadLetter: '',
    sendRole: only(template.findResources('AWS::IAM::Role', { Properties: { Description: Match.stringLikeRegexp('puts WebSocket frames') } })),
    api: only(template.findResources('AWS::ApiGatewayV2::Api')),
    stanza: only(template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^XMPP frames') } })),
    connect: only(template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^XMPP \\$connect') } })),
  };
  const frames = template.findResources('AWS::SQS::Queue')[ids.frames] as { Properties: { RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [string] } } } };
  ids.deadLetter = frames.Properties.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0];
});

describe('the SQS FIFO integration of $default and $disconnect', () => {
  test('sends to the frames queue: group = connection, dedup = request, connectionId and eventType as attributes', ({ expect }) => {
    // Form-encoded SQS Query API (SendMessage), every value URL-encoded: connection and request ids end in '='.
    expect(sendMessageTemplate('$util.urlEncode($input.body)')).toBe(
      'Action=SendMessage' +
        '&MessageGroupId=$util.urlEncode($context.connectionId)' +
        '&MessageDeduplicationId=$util.urlEncode($context.requestId)' +
        '&MessageAttribute.1.Name=connectionId&MessageAttribute.1.Value.DataType=String' +
        '&MessageAttribute.1.Value.StringValue=$util.urlEncode($context.connectionId)' +
        '&MessageAttribute.2.Name=eventType&MessageAttribute.2.Value.DataType=String' +
        '&MessageAttribute.2.Value.StringValue=$context.eventType' +
        '&MessageBody=$util.urlEncode($input.body)',
    );
  });

  test.for([
    ['$default', '$util.urlEncode($input.body)'],
    // $disconnect has no body and SQS requires one: the event type says what it is.
    ['$disconnect', 'DISCONNECT'],
  ] as const)('%s: an AWS integration POSTing SendMessage with the credentials role, body %s', ([routeKey, body], { expect }) => {
    const routes = template.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: routeKey } });
    const target = (Object.values(routes)[0] as { Properties: { Target: { 'Fn::Join': [string, [string, { Ref: string }]] } } }).Properties.Target;
    const integrationId = target['Fn::Join'][1][1].Ref;
    const integration = template.findResources('AWS::ApiGatewayV2::Integration')[integrationId];
    expect(integration).toBeDefined();
    expect(integration!.Properties).toEqual({
      ApiId: { Ref: ids.api },
      IntegrationType: 'AWS',
      IntegrationMethod: 'POST',
      IntegrationUri: {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':apigateway:', { Ref: 'AWS::Region' }, ':sqs:path/', { Ref: 'AWS::AccountId' }, '/', { 'Fn::GetAtt': [ids.frames, 'QueueName'] }],
        ],
      },
      CredentialsArn: { 'Fn::GetAtt': [ids.sendRole, 'Arn'] },
      RequestParameters: { 'integration.request.header.Content-Type': "'application/x-www-form-urlencoded'" },
      TemplateSelectionExpression: '\\$default',
      RequestTemplates: { $default: sendMessageTemplate(body) },
      PassthroughBehavior: 'NEVER',
    });
  });

  test('the credentials role may only SendMessage on the frames queue, assumed by API Gateway', ({ expect }) => {
    template.hasResourceProperties('AWS::IAM::Role', {
      Description: Match.stringLikeRegexp('puts WebSocket frames'),
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })] },
    });
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: ids.sendRole }] } });
    const statements = Object.values(policies).flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: unknown[] } } }).Properties.PolicyDocument.Statement);
    expect(statements).toEqual([
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [ids.frames, 'Arn'] } },
    ]);
  });

  test('$connect is a Lambda proxy integration, synchronous (it answers the xmpp subprotocol)', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: { 'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [ids.connect, 'Arn'] }])] },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$connect', AuthorizationType: 'NONE' });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [ids.connect, 'Arn'] },
    });
  });
});

describe('the frames queue and its consumer', () => {
  test('is FIFO with per-connection high throughput, no content deduplication, and a FIFO dead-letter queue after 3 attempts', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      // Two identical <presence/> frames are two stanzas: deduplicate by request id only.
      ContentBasedDeduplication: false,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      VisibilityTimeout: 120,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [ids.deadLetter, 'Arn'] }, maxReceiveCount: 3 },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { FifoQueue: true, MessageRetentionPeriod: 14 * 24 * 3600, SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: ids.frames }],
      PolicyDocument: { Statement: [Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })] },
    });
  });

  test('feeds the stanza function in batches of 10 with partial batch failure reporting', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [ids.frames, 'Arn'] },
      FunctionName: { Ref: ids.stanza },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });
});

describe('the stage', () => {
  test('is throttled, logs access as JSON lines and errors of integrations', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'xmpp',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000, LoggingLevel: 'ERROR', DataTraceEnabled: false },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('"connectionId":"\\$context.connectionId"') },
    });
  });

  test('frames are never JSON-routed: the route selection expression is the default one', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.action' });
  });
});

describe('the functions', () => {
  test.for(['connect', 'stanza'] as const)('%s: Node.js 22 or newer on arm64, JSON logs, the configuration in its environment', (which, { expect }) => {
    const fn = template.findResources('AWS::Lambda::Function')[ids[which]]!.Properties as Record<string, any>;
    expect(fn.Architectures).toEqual(['arm64']);
    expect(Number(/^nodejs(\d+)\.x$/.exec(fn.Runtime)?.[1])).toBeGreaterThanOrEqual(22);
    expect(fn.LoggingConfig).toMatchObject({ LogFormat: 'JSON' });
    expect(fn.Environment.Variables).toMatchObject({
      // Prepared like any JID: lowercase.
      XMPP_DOMAINS: 'example.com,chat.example.org',
      TABLE_NAME: { Ref: expect.stringMatching(/^XmppTable/) },
      ALLOW_REGISTRATION: 'false',
      WS_ENDPOINT: {
        'Fn::Join': ['', ['https://', { Ref: ids.api }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/xmpp']],
      },
      POWERTOOLS_SERVICE_NAME: 'cirrus',
      POWERTOOLS_METRICS_NAMESPACE: 'Cirrus',
    });
  });

  test('registration=true reaches the functions', ({ expect }) => {
    const { template: withRegistration } = synthApp({ registration: 'true', federation: 'false' });
    const functions = Object.values(withRegistration.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^XMPP') } }));
    expect(functions.map((f) => (f as any).Properties.Environment.Variables.ALLOW_REGISTRATION)).toEqual(['true', 'true']);
  });
});

describe('least privilege', () => {
  const statementsOf = (functionId: string): Array<{ Action: string | string[]; Resource: unknown }> => {
    const fn = template.findResources('AWS::Lambda::Function')[functionId]!.Properties as { Role: { 'Fn::GetAtt': [string] } };
    const role = fn.Role['Fn::GetAtt'][0];
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } });
    expectOutside(template.findResources('AWS::IAM::Role')[role]!.Properties.ManagedPolicyArns).toBeUndefined();
    return Object.values(policies).flatMap((p) => (p as any).Properties.PolicyDocument.Statement);
  };
  const connectionsArn = (method: string) => ({
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':execute-api:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':', { Ref: ids.api }, `/xmpp/${method}/@connections/*`]],
  });

  test('$connect may only put an item into the table and write its own logs', ({ expect }) => {
    const statements = statementsOf(ids.connect);
    expect(statements).toHaveLength(2);
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'dynamodb:PutItem', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^XmppTable/), 'Arn'] } }));
    expect(statements).toContainEqual(expect.objectContaining({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'] }));
  });

  test('the stanza function: ManageConnections on POST and DELETE of this stage’s @connections only; the table; its queues', ({ expect }) => {
    const statements = statementsOf(ids.stanza);
    const manage = statements.filter((s) => s.Action === 'execute-api:ManageConnections');
    expect(manage).toHaveLength(1);
    expect(manage[0]!.Resource).toHaveLength(2);
    expect(manage[0]!.Resource).toEqual(expect.arrayContaining([connectionsArn('POST'), connectionsArn('DELETE')]));
    const resources = statements.flatMap((s) => [s.Resource].flat());
    // Nothing account-wide: every resource is one of this stack's.
    expect(resources).not.toContainEqual('*');
    for (const statement of statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')))) {
      expect([statement.Resource].flat()).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^XmppTable/), 'Arn'] }]);
    }
    for (const statement of statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('sqs:')))) {
      expect([statement.Resource].flat()).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^Xmpp(WebSocketFrames|FederationOutbound)/), 'Arn'] }]);
    }
  });
});
