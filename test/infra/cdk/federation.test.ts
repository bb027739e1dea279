import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { beforeAll, describe, test } from 'vitest';
import { synthApp, synthConstruct } from './synth.ts';

// Federation is on by default: `npx cdk synth -c domain=example.com` builds all of this.
let template: ReturnType<typeof synthApp>['template'];
const findOne = (type: string, props: Record<string, unknown> = {}) => {
  const found = template.findResources(type, props);
  const ids = Object.keys(found);
  if (ids.length !== 1) throw new Error(`${type}: expected one match, found ${ids.length}`);
  return { id: ids[0]!, ...(found[ids[0]!] as { Properties: Record<string, any> }) };
};

beforeAll(() => {
  template = synthApp().template;
});

describe('the federation service', () => {
  test('is an ECS Fargate task on arm64 built from the repository Dockerfile (an image asset: synth needs no Docker)', ({ expect }) => {
    const task = findOne('AWS::ECS::TaskDefinition');
    expect(task.Properties).toMatchObject({
      RequiresCompatibilities: ['FARGATE'],
      NetworkMode: 'awsvpc',
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
    });
    const [container] = task.Properties.ContainerDefinitions;
    expect(container.Image['Fn::Sub']).toMatch(/container-assets.*:[0-9a-f]{64}$/);
    expect(container.PortMappings).toEqual([5269, 5270, 8080].map((ContainerPort) => ({ ContainerPort, Protocol: 'tcp' })));
  });

  test('gets the environment of the federation contract', ({ expect }) => {
    const [container] = findOne('AWS::ECS::TaskDefinition').Properties.ContainerDefinitions;
    const env = Object.fromEntries(container.Environment.map((e: { Name: string; Value: unknown }) => [e.Name, e.Value]));
    const outbound = findOne('AWS::SQS::Queue', { Properties: { RedrivePolicy: { maxReceiveCount: 5 } } });
    const secret = findOne('AWS::SecretsManager::Secret');
    expect(env).toMatchObject({
      XMPP_DOMAINS: 'example.com',
      TABLE_NAME: { Ref: expect.stringMatching(/^XmppTable/) },
      AWS_REGION: { Ref: 'AWS::Region' },
      WS_ENDPOINT: { 'Fn::Join': ['', expect.arrayContaining(['https://', '/xmpp'])] },
      S2S_QUEUE_URL: { Ref: outbound.id },
      S2S_PORT: '5269',
      S2S_DIRECT_TLS_PORT: '5270',
      TLS_SECRET_ARN: { Ref: secret.id },
      S2S_ALLOW_DIALBACK_WITH_INVALID_CERT: 'true',
      HEALTH_PORT: '8080',
    });
    // No routes given: no S2S_ROUTES (DNS SRV lookups).
    expect(env).not.toHaveProperty('S2S_ROUTES');
  });

  test('sits behind an internet-facing NLB with TCP listeners on 5269 (STARTTLS) and 5270 (direct TLS)', ({ expect }) => {
    const nlb = findOne('AWS::ElasticLoadBalancingV2::LoadBalancer');
    expect(nlb.Properties).toMatchObject({ Type: 'network', Scheme: 'internet-facing' });
    for (const port of [5269, 5270]) {
      const group = findOne('AWS::ElasticLoadBalancingV2::TargetGroup', { Properties: { Port: port } });
      expect(group.Properties).toMatchObject({
        Protocol: 'TCP',
        TargetType: 'ip',
        // The service's health endpoint (HEALTH_PORT): 200 while it listens.
        HealthCheckProtocol: 'HTTP',
        HealthCheckPort: '8080',
        HealthCheckPath: '/health',
      });
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
        LoadBalancerArn: { Ref: nlb.id },
        Port: port,
        Protocol: 'TCP',
        DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: group.id } }],
      });
    }
  });

  test('lets the internet in on 5269 and 5270 only, and the tasks only from the load balancer', ({ expect }) => {
    const lbGroup = findOne('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('^XMPP federation load balancer') } });
    expect(lbGroup.Properties.SecurityGroupIngress.map((rule: { FromPort: number; CidrIp: string }) => [rule.CidrIp, rule.FromPort])).toEqual([
      ['0.0.0.0/0', 5269],
      ['0.0.0.0/0', 5270],
    ]);
    const taskGroup = findOne('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('^XMPP federation tasks') } });
    const ingress = template.findResources('AWS::EC2::SecurityGroupIngress', { Properties: { GroupId: { 'Fn::GetAtt': [taskGroup.id, 'GroupId'] } } });
    const rules = Object.values(ingress).map((r) => (r as { Properties: { FromPort: number; SourceSecurityGroupId: unknown } }).Properties);
    expect(rules.map((r) => r.FromPort).sort()).toEqual([5269, 5270, 8080]);
    for (const rule of rules) expect(rule.SourceSecurityGroupId).toEqual({ 'Fn::GetAtt': [lbGroup.id, 'GroupId'] });
  });

  test('scales between 1 and 4 tasks on CPU and on connections per task', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 1, MaxCapacity: 4, ScalableDimension: 'ecs:service:DesiredCount' });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' }, TargetValue: 60 },
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'StepScaling',
      StepScalingPolicyConfiguration: { StepAdjustments: Match.arrayWith([Match.objectLike({ ScalingAdjustment: 1 })]) },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'IF(hosts > 0, flows / hosts, flows)' })]),
      Threshold: 2000,
    });
  });
});

describe('the s2s-out queue', () => {
  test('is FIFO with a FIFO dead-letter queue; the stanza function may send to it, the task consume it', ({ expect }) => {
    const outbound = findOne('AWS::SQS::Queue', { Properties: { RedrivePolicy: { maxReceiveCount: 5 } } });
    expect(outbound.Properties).toMatchObject({ FifoQueue: true, DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' });
    const stanza = findOne('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^XMPP frames') } });
    expect(stanza.Properties.Environment.Variables.S2S_QUEUE_URL).toEqual({ Ref: outbound.id });

    const statementsOf = (roleId: string) =>
      Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } })).flatMap(
        (p) => (p as { Properties: { PolicyDocument: { Statement: Array<{ Action: string[]; Resource: unknown }> } } }).Properties.PolicyDocument.Statement,
      );
    const onOutbound = (roleId: string) =>
      statementsOf(roleId)
        .filter((s) => JSON.stringify(s.Resource) === JSON.stringify({ 'Fn::GetAtt': [outbound.id, 'Arn'] }))
        .flatMap((s) => [s.Action].flat());
    expect(onOutbound(stanza.Properties.Role['Fn::GetAtt'][0])).toContain('sqs:SendMessage');
    expect(onOutbound(stanza.Properties.Role['Fn::GetAtt'][0])).not.toContain('sqs:ReceiveMessage');
    const taskRole = findOne('AWS::ECS::TaskDefinition').Properties.TaskRoleArn['Fn::GetAtt'][0];
    expect(onOutbound(taskRole)).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']));
  });
});

describe('the task role', () => {
  test('reaches this table, this stage’s @connections, the s2s queue and the TLS secret, nothing else', ({ expect }) => {
    const taskRole = findOne('AWS::ECS::TaskDefinition').Properties.TaskRoleArn['Fn::GetAtt'][0];
    const statements = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: taskRole }] } })).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } } }).Properties.PolicyDocument.Statement,
    );
    const secret = findOne('AWS::SecretsManager::Secret');
    const byService = (prefix: string) => statements.filter((s) => [s.Action].flat().every((a) => a.startsWith(prefix)));
    expect(byService('dynamodb:').flatMap((s) => [s.Resource].flat())).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^XmppTable/), 'Arn'] }]);
    const manage = byService('execute-api:');
    expect(manage.map((s) => s.Action)).toEqual(['execute-api:ManageConnections']);
    const arns = [manage[0]!.Resource].flat().map((arn) => JSON.stringify(arn));
    expect(arns.map((arn) => /\/xmpp\/(\w+)\/@connections\/\*"/.exec(arn)?.[1]).sort()).toEqual(['DELETE', 'POST']);
    expect(byService('secretsmanager:')).toEqual([
      { Effect: 'Allow', Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], Resource: { Ref: secret.id } },
    ]);
    expect(statements.length).toBe(byService('dynamodb:').length + byService('execute-api:').length + byService('secretsmanager:').length + byService('sqs:').length);
  });
});

describe('the TLS secret', () => {
  test('by default is created, and a custom resource puts a self-signed certificate for the domains into it before the service starts', ({ expect }) => {
    const secret = findOne('AWS::SecretsManager::Secret');
    expect(secret.Properties.GenerateSecretString).toMatchObject({ GenerateStringKey: 'dialbackSecret', SecretStringTemplate: '{}' });
    const certificate = findOne('Custom::CirrusSelfSignedCertificate');
    expect(certificate.Properties).toMatchObject({ SecretArn: { Ref: secret.id }, Domains: ['example.com'] });
    const provider = findOne('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('self-signed certificate') } });
    expect(certificate.Properties.ServiceToken).toEqual({ 'Fn::GetAtt': [provider.id, 'Arn'] });
    const providerStatements = Object.values(
      template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: provider.Properties.Role['Fn::GetAtt'][0] }] } }),
    ).flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: unknown[] } } }).Properties.PolicyDocument.Statement);
    expect(providerStatements).toContainEqual({
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
      Resource: { Ref: secret.id },
    });
    const service = template.findResources('AWS::ECS::Service');
    expect((Object.values(service)[0] as { DependsOn: string[] }).DependsOn).toContain(certificate.id);
  });

  test('given by ARN is imported: no secret, no custom resource, the task reads that ARN', ({ expect }) => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cirrus/tls-AbCdEf';
    const { template: imported } = synthConstruct((stack: Stack) => ({
      domains: ['example.com'],
      federation: { tlsSecret: Secret.fromSecretCompleteArn(stack, 'Tls', arn), routes: { 'example.net': 'peer.internal:5269' } },
    }));
    imported.resourceCountIs('AWS::SecretsManager::Secret', 0);
    imported.resourceCountIs('Custom::CirrusSelfSignedCertificate', 0);
    const [container] = (Object.values(imported.findResources('AWS::ECS::TaskDefinition'))[0] as any).Properties.ContainerDefinitions;
    const env = Object.fromEntries(container.Environment.map((e: { Name: string; Value: unknown }) => [e.Name, e.Value]));
    expect(env).toMatchObject({ TLS_SECRET_ARN: arn, S2S_ROUTES: 'example.net=peer.internal:5269' });
  });
});

describe('federation: false', () => {
  test('builds no VPC, cluster, load balancer or s2s queue, and the stanza function gets no S2S_QUEUE_URL', ({ expect }) => {
    const { template: off } = synthApp({ federation: 'false' });
    for (const type of ['AWS::EC2::VPC', 'AWS::ECS::Cluster', 'AWS::ECS::Service', 'AWS::ElasticLoadBalancingV2::LoadBalancer', 'AWS::SecretsManager::Secret']) {
      expect(off.findResources(type), type).toEqual({});
    }
    const stanza = Object.values(off.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^XMPP frames') } }))[0] as any;
    expect(stanza.Properties.Environment.Variables).not.toHaveProperty('S2S_QUEUE_URL');
    expect(Object.keys(off.toJSON().Outputs)).not.toContain('FederationEndpoint');
  });
});
