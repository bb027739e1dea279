import { Annotations, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { HostedZone } from 'aws-cdk-lib/aws-route53';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct, Node } from 'constructs';
import { OUTPUTS } from './outputs.ts';
import { XmppDomain } from './xmpp-domain.ts';

export { OUTPUTS };

/** Plain values (from CDK context, say): the stack turns the ARNs and ids into references. */
export interface CirrusStackProps extends StackProps {
  readonly domains: readonly string[];
  readonly allowRegistration?: boolean;
  readonly logRetention?: RetentionDays;
  readonly deletionProtection?: boolean;
  readonly tracing?: boolean;
  readonly apiGatewayCloudWatchRole?: boolean;
  readonly customDomain?: {
    readonly domainName: string;
    readonly certificateArn?: string;
    readonly hostedZone?: { readonly id: string; readonly name: string };
  };
  /** false: no federation. @default - federation on, with a created self-signed TLS secret */
  readonly federation?: false | {
    /** A complete secret ARN, or a secret's name. @default - a new secret with a self-signed certificate */
    readonly tlsSecret?: string;
    readonly routes?: Readonly<Record<string, string>>;
    readonly allowDialbackWithInvalidCert?: boolean;
  };
  readonly alarmTopicArn?: string;
}

/** The deployable stack: one XmppDomain and the outputs an operator needs. */
export class CirrusStack extends Stack {
  readonly xmpp: XmppDomain;

  constructor(scope: Construct, id: string, props: CirrusStackProps) {
    super(scope, id, { description: 'Cirrus: a serverless XMPP server', ...props });
    const { customDomain, federation } = props;
    this.xmpp = new XmppDomain(this, 'Xmpp', {
      domains: props.domains,
      allowRegistration: props.allowRegistration,
      logRetention: props.logRetention,
      deletionProtection: props.deletionProtection,
      tracing: props.tracing,
      apiGatewayCloudWatchRole: props.apiGatewayCloudWatchRole,
      customDomain: customDomain && {
        domainName: customDomain.domainName,
        certificate: customDomain.certificateArn ? Certificate.fromCertificateArn(this, 'Certificate', customDomain.certificateArn) : undefined,
        hostedZone: customDomain.hostedZone
          ? HostedZone.fromHostedZoneAttributes(this, 'HostedZone', { hostedZoneId: customDomain.hostedZone.id, zoneName: customDomain.hostedZone.name })
          : undefined,
      },
      federation: federation === false ? false : federation && {
        tlsSecret: federation.tlsSecret === undefined ? undefined : importSecret(this, federation.tlsSecret),
        routes: federation.routes,
        allowDialbackWithInvalidCert: federation.allowDialbackWithInvalidCert,
      },
      alarmTopic: props.alarmTopicArn ? Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn) : undefined,
    });
    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });

    output(OUTPUTS.webSocketUrl, this.xmpp.webSocketUrl, 'XMPP over WebSocket (RFC 7395): what clients connect to');
    output(OUTPUTS.tableName, this.xmpp.tableName, 'The DynamoDB table (npx cirrus user add … --stack reads it)');
    output(OUTPUTS.domains, this.xmpp.domains.join(','), 'The XMPP domains served');
    if (this.xmpp.federation) {
      output(OUTPUTS.tlsSecret, this.xmpp.federation.tlsSecret.secretArn, 'The federation TLS secret: put your certificate here (see README, Deploy)');
      const { cluster, service } = this.xmpp.federation;
      output(OUTPUTS.federationService, `${cluster.clusterName} ${service.serviceName}`, 'Federation ECS cluster and service (aws ecs update-service --cluster … --service … --force-new-deployment)');
      output(OUTPUTS.federationEndpoint, this.xmpp.federation.loadBalancer.loadBalancerDnsName, 'Federation load balancer (TCP 5269 STARTTLS, 5270 direct TLS)');
    }
    const records = this.xmpp.dnsRecords;
    if (records.length > 0) output(OUTPUTS.dnsRecords, records.join('\n'), 'DNS records to create, in zone-file form');
    output(OUTPUTS.hostMeta, this.xmpp.hostMeta, 'XEP-0156: serve this at https://<domain>/.well-known/host-meta');
  }
}

/** A complete ARN ends in the six characters Secrets Manager appends to the name; a name (or partial ARN) does not. */
function importSecret(scope: Construct, arnOrName: string) {
  return /^arn:.+:secret:.+-[A-Za-z0-9]{6}$/.test(arnOrName)
    ? Secret.fromSecretCompleteArn(scope, 'TlsSecret', arnOrName)
    : Secret.fromSecretNameV2(scope, 'TlsSecret', arnOrName.replace(/^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:/, ''));
}

/**
 * The stack's props from CDK context (`-c key=value` or cdk.json), so that `npx cdk deploy -c domain=example.com`
 * is all a deployment needs. Unknown or malformed values fail the synth with the key's name.
 */
export function cirrusStackPropsFromContext(node: Node, scope: Construct): CirrusStackProps & { stackName: string } {
  const text = (key: string): string | undefined => {
    const value: unknown = node.tryGetContext(key);
    if (value === undefined || value === null || value === '') return undefined;
    return String(value).trim();
  };
  const flag = (key: string): boolean | undefined => {
    const value = text(key);
    if (value === undefined) return undefined;
    if (value === 'true' || value === 'false') return value === 'true';
    throw new Error(`context ${key}: true or false, not '${value}'`);
  };
  const list = (key: string) => (text(key) ?? '').split(',').map((v) => v.trim()).filter(Boolean);

  let domains = list('domain');
  if (domains.length === 0) {
    domains = ['example.com'];
    Annotations.of(scope).addWarningV2(
      'cirrus:noDomain',
      'No XMPP domain given: synthesizing for example.com. Deploy with -c domain=your.domain (comma-separated for several).',
    );
  }

  const retention = text('logRetentionDays');
  let logRetention: RetentionDays | undefined;
  if (retention !== undefined) {
    logRetention = Number(retention) as RetentionDays;
    if (!Object.values(RetentionDays).includes(logRetention)) {
      throw new Error(`context logRetentionDays: one of CloudWatch's retention periods (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365 …), not '${retention}'`);
    }
  }

  const customDomainName = text('customDomain');
  const hostedZoneId = text('hostedZoneId');
  const hostedZoneName = text('hostedZoneName');
  if ((hostedZoneId === undefined) !== (hostedZoneName === undefined)) {
    throw new Error('context hostedZoneId and hostedZoneName go together');
  }
  const certificateArn = text('certificateArn');
  const federation = flag('federation') ?? true;
  const tlsSecret = text('tlsSecret');
  const dialback = flag('dialbackWithInvalidCert');
  if (!federation) {
    const conflicting = ['tlsSecret', 's2sRoutes', 'dialbackWithInvalidCert'].filter((key) => text(key) !== undefined);
    if (conflicting.length > 0) throw new Error(`context federation=false conflicts with ${conflicting.join(', ')} (federation settings)`);
  }
  const routes = Object.fromEntries(
    list('s2sRoutes').map((route) => {
      const [domain, target] = route.split('=');
      if (!domain || !target) throw new Error(`context s2sRoutes: domain=host:port, not '${route}'`);
      return [domain.trim(), target.trim()];
    }),
  );
  const alarmTopicArn = text('alarmTopicArn');
  const stackName = text('stackName') ?? 'Cirrus';

  return {
    stackName,
    domains,
    allowRegistration: flag('registration'),
    logRetention,
    deletionProtection: flag('deletionProtection'),
    tracing: flag('tracing'),
    apiGatewayCloudWatchRole: flag('apiGatewayCloudWatchRole'),
    customDomain: customDomainName
      ? { domainName: customDomainName, certificateArn, hostedZone: hostedZoneId && hostedZoneName ? { id: hostedZoneId, name: hostedZoneName } : undefined }
      : undefined,
    federation: federation ? { tlsSecret, routes, allowDialbackWithInvalidCert: dialback } : false,
    alarmTopicArn,
  };
}
