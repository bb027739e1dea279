import { CustomResource, Duration, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { XmppFunction } from './function.ts';

export interface SelfSignedTlsSecretProps {
  /** The domains the certificate names (a SAN dNSName each). */
  readonly domains: readonly string[];
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The federation's TLS secret when the deployer brings none: a Secrets Manager secret with a random dialback
 * secret (XEP-0185), into which a custom resource puts a self-signed certificate for the domains at deploy time.
 * The private key is made inside the account and never passes through the template. Peers accept such a
 * certificate through dialback; replace it with a CA-issued one (`aws secretsmanager put-secret-value`, see the
 * README) and it is left alone from then on.
 */
export class SelfSignedTlsSecret extends Construct {
  readonly secret: Secret;

  constructor(scope: Construct, id: string, props: SelfSignedTlsSecretProps) {
    super(scope, id);
    this.secret = new Secret(this, 'Secret', {
      description: 'Cirrus federation: TLS certificate and key (JSON cert, key) and the dialback secret',
      generateSecretString: {
        secretStringTemplate: '{}',
        generateStringKey: 'dialbackSecret',
        excludePunctuation: true,
        passwordLength: 48,
      },
      removalPolicy: props.removalPolicy,
    });

    const provider = new XmppFunction(this, 'Provider', {
      entry: 'infra/constructs/self-signed-tls-secret.handler.ts',
      description: 'Puts a self-signed certificate into the federation TLS secret unless it holds another one',
      memorySize: 256,
      timeout: Duration.seconds(30),
      environment: {},
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      tracing: false,
    });
    provider.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
        resources: [this.secret.secretArn],
      }),
    );
    const resource = new CustomResource(this, 'Certificate', {
      serviceToken: provider.function.functionArn,
      resourceType: 'Custom::CirrusSelfSignedCertificate',
      properties: { SecretArn: this.secret.secretArn, Domains: [...props.domains] },
    });
    resource.node.addDependency(provider.role);

    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The secret holds a TLS certificate and its key: a new one comes from whoever issues certificates for the ' +
        'domains and is put in place with put-secret-value; a rotation function cannot obtain one.',
    });
  }
}
