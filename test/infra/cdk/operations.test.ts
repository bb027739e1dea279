import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { beforeAll, describe, test } from 'vitest';
import { synthApp, synthConstruct } from './synth.ts';

let template: ReturnType<typeof synthApp>['template'];
let resources: Record<string, { Type: string; Properties: Record<string, any> }>;
const idOf = (type: string, match: (props: Record<string, any>) => boolean): string => {
  const ids = Object.keys(resources).filter((id) => resources[id]!.Type === type && match(resources[id]!.Properties));
  if (ids.length !== 1) throw new Error(`${type}: expected one match, found ${ids.length}`);
  return ids[0]!;
};

beforeAll(() => {
  template = synthApp().template;
  resources = template.toJSON().Resources;
});

describe('alarms', () => {
  test.for([
    ['frames dead-letter queue', 3],
    ['s2s-out dead-letter queue', 5],
  ] as const)('%s not empty: any visible message', ([, maxReceiveCount]) => {
    const queue = idOf('AWS::SQS::Queue', (p) => p.RedrivePolicy?.maxReceiveCount === maxReceiveCount);
    const deadLetter = resources[queue]!.Properties.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLetter, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  test.for(['connect', 'stanza'] as const)('%s function: errors and throttles', (which) => {
    const fn = idOf('AWS::Lambda::Function', (p) => new RegExp(which === 'connect' ? '^XMPP \\$connect' : '^XMPP frames').test(p.Description));
    for (const metric of ['Errors', 'Throttles']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: metric,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
        Statistic: 'Sum',
        Threshold: 1,
      });
    }
  });

  test('API errors: execution and integration errors of the stage, less refused connects', () => {
    const api = idOf('AWS::ApiGatewayV2::Api', () => true);
    const apiMetric = (name: string) =>
      Match.objectLike({
        MetricStat: Match.objectLike({
          Metric: { Namespace: 'AWS/ApiGateway', MetricName: name, Dimensions: Match.arrayWith([{ Name: 'ApiId', Value: { Ref: api } }, { Name: 'Stage', Value: 'xmpp' }]) },
        }),
      });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('API Gateway failed to run an integration'),
      Threshold: 1,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: Match.stringLikeRegexp('FILL\\(execution, 0\\).*integration.*refused') }),
        apiMetric('IntegrationError'),
        apiMetric('ExecutionError'),
        Match.objectLike({
          MetricStat: Match.objectLike({ Metric: { Namespace: 'Cirrus', MetricName: 'ConnectionsRefused', Dimensions: [{ Name: 'service', Value: 'cirrus' }] } }),
        }),
      ]),
    });
  });

  test.for([5269, 5270])('federation target group %s: unhealthy hosts', (port) => {
    const group = idOf('AWS::ElasticLoadBalancingV2::TargetGroup', (p) => p.Port === port);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/NetworkELB',
      MetricName: 'UnHealthyHostCount',
      Dimensions: Match.arrayWith([{ Name: 'TargetGroup', Value: { 'Fn::GetAtt': [group, 'TargetGroupFullName'] } }]),
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  test('federation without a healthy task', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'HealthyHostCount', Threshold: 1, ComparisonOperator: 'LessThanThreshold' });
  });

  test('notify an SNS topic on ALARM and on OK when one is given', ({ expect }) => {
    const { template: withTopic } = synthConstruct((stack: Stack) => ({
      domains: ['example.com'],
      federation: false,
      alarmTopic: Topic.fromTopicArn(stack, 'Ops', 'arn:aws:sns:eu-west-1:123456789012:ops'),
    }));
    const alarms = Object.values(withTopic.findResources('AWS::CloudWatch::Alarm')) as Array<{ Properties: Record<string, unknown> }>;
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) {
      expect(alarm.Properties).toMatchObject({ AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:ops'], OKActions: ['arn:aws:sns:eu-west-1:123456789012:ops'] });
    }
  });
});

describe('the dashboard', () => {
  test('graphs the whole path: API, frames queue, functions, table, federation', ({ expect }) => {
    const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0] as { Properties: { DashboardBody: unknown } };
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const title of ['WebSocket connections and frames', 'API errors', 'Frames queue', 'Invocations', 'Table', 'Federation connections', 'Outbound queue']) {
      expect(body).toContain(`\\"title\\":\\"${title}\\"`);
    }
  });
});

describe('stack outputs', () => {
  test('WebSocket URL, table name, domains, NLB DNS name, TLS secret, federation service', ({ expect }) => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const api = idOf('AWS::ApiGatewayV2::Api', () => true);
    const nlb = idOf('AWS::ElasticLoadBalancingV2::LoadBalancer', () => true);
    expect(outputs.WebSocketUrl!.Value).toEqual({
      'Fn::Join': ['', ['wss://', { Ref: api }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/xmpp']],
    });
    expect(outputs.TableName!.Value).toEqual({ Ref: idOf('AWS::DynamoDB::Table', () => true) });
    expect(outputs.XmppDomains!.Value).toBe('example.com');
    expect(outputs.FederationEndpoint!.Value).toEqual({ 'Fn::GetAtt': [nlb, 'DNSName'] });
    expect(outputs.FederationTlsSecret!.Value).toEqual({ Ref: idOf('AWS::SecretsManager::Secret', () => true) });
    expect(outputs.FederationService!.Value).toEqual({
      'Fn::Join': ['', [{ Ref: idOf('AWS::ECS::Cluster', () => true) }, ' ', { 'Fn::GetAtt': [idOf('AWS::ECS::Service', () => true), 'Name'] }]],
    });
  });

  test('the DNS records to create: SRV _xmpp-server._tcp on 5269 and _xmpps-server._tcp on 5270 to the NLB (RFC 6120 §3.2.1, XEP-0368)', ({ expect }) => {
    const nlb = idOf('AWS::ElasticLoadBalancingV2::LoadBalancer', () => true);
    const value = (template.toJSON().Outputs.DnsRecords as { Value: { 'Fn::Join': [string, unknown[]] } }).Value;
    const text = value['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : JSON.stringify(part) === JSON.stringify({ 'Fn::GetAtt': [nlb, 'DNSName'] }) ? 'NLB' : '?')).join('');
    expect(text.split('\n')).toEqual([
      '_xmpp-server._tcp.example.com. 3600 IN SRV 0 5 5269 NLB.',
      '_xmpps-server._tcp.example.com. 3600 IN SRV 0 5 5270 NLB.',
    ]);
  });

  test('host-meta (XEP-0156) pointing at the WebSocket URL', ({ expect }) => {
    const value = JSON.stringify(template.toJSON().Outputs.HostMeta.Value);
    expect(value).toContain("<Link rel='urn:xmpp:alt-connections:websocket' href='wss://");
  });

  test('a custom domain without a hosted zone adds its CNAME to the records and becomes the WebSocket URL', ({ expect }) => {
    const { template: custom } = synthApp({
      customDomain: 'xmpp.example.com',
      certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555',
      federation: 'false',
    });
    const outputs = custom.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.WebSocketUrl!.Value).toBe('wss://xmpp.example.com');
    expect(JSON.stringify(outputs.DnsRecords!.Value)).toContain('xmpp.example.com. 300 IN CNAME ');
    custom.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'xmpp.example.com',
      DomainNameConfigurations: [Match.objectLike({ CertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555' })],
    });
    custom.hasResourceProperties('AWS::ApiGatewayV2::ApiMapping', { DomainName: { Ref: Match.anyValue() }, Stage: 'xmpp' });
  });

  test('a custom domain in a hosted zone gets a DNS-validated certificate and A/AAAA alias records, so no CNAME to create', ({ expect }) => {
    const { template: zoned } = synthApp({ customDomain: 'xmpp.example.com', hostedZoneId: 'Z0123456789', hostedZoneName: 'example.com', federation: 'false' });
    zoned.hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: 'xmpp.example.com',
      ValidationMethod: 'DNS',
      DomainValidationOptions: [{ DomainName: 'xmpp.example.com', HostedZoneId: 'Z0123456789' }],
    });
    for (const Type of ['A', 'AAAA']) {
      zoned.hasResourceProperties('AWS::Route53::RecordSet', {
        Name: 'xmpp.example.com.',
        Type,
        HostedZoneId: 'Z0123456789',
        AliasTarget: { DNSName: Match.anyValue(), HostedZoneId: Match.anyValue() },
      });
    }
    expect(zoned.toJSON().Outputs).not.toHaveProperty('DnsRecords');
    expect(zoned.toJSON().Outputs.WebSocketUrl.Value).toBe('wss://xmpp.example.com');
  });
});
