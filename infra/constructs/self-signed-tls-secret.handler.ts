import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceResponse } from 'aws-lambda';
import { selfSignedCertificate } from '../../lib/federation/certificates.ts';

/**
 * The custom resource behind SelfSignedTlsSecret: puts a self-signed certificate for the served domains into the
 * federation's TLS secret, so that a fresh deployment federates at once (peers accept it through dialback,
 * XEP-0220). A certificate someone put there (without `selfSigned: true`) is never touched; a self-signed one is
 * replaced only when the domains change. Deleting the resource leaves the secret to CloudFormation.
 */

/** The secret's JSON, as the federation service reads it (see FEDERATION-CONTRACT: TLS_SECRET_ARN). */
export interface TlsSecretValue {
  cert?: string;
  key?: string;
  dialbackSecret?: string;
  /** Set only on certificates this resource made. */
  selfSigned?: boolean;
  domains?: string[];
}

export interface SecretsPort {
  get(secretArn: string): Promise<string | undefined>;
  put(secretArn: string, value: string): Promise<void>;
}

/** What to store, or undefined to leave the secret as it is. */
export async function nextSecretValue(current: TlsSecretValue, domains: string[]): Promise<TlsSecretValue | undefined> {
  const hasCertificate = Boolean(current.cert && current.key);
  if (hasCertificate && !current.selfSigned) return undefined;
  if (hasCertificate && sameDomains(current.domains ?? [], domains)) return undefined;
  const { cert, key } = await selfSignedCertificate(domains);
  return { ...current, cert, key, selfSigned: true, domains };
}

export async function provision(event: CloudFormationCustomResourceEvent, secrets: SecretsPort): Promise<string> {
  const { SecretArn: secretArn, Domains: domains } = event.ResourceProperties as unknown as { SecretArn: string; Domains: string[] };
  if (event.RequestType === 'Delete') return 'PhysicalResourceId' in event ? event.PhysicalResourceId : secretArn;
  const text = await secrets.get(secretArn);
  let current: TlsSecretValue = {};
  try {
    current = text ? (JSON.parse(text) as TlsSecretValue) : {};
  } catch {
    // Not JSON: someone stored something else; a certificate in the expected shape replaces it.
  }
  const next = await nextSecretValue(current, domains);
  if (next) await secrets.put(secretArn, JSON.stringify(next));
  return secretArn;
}

function sameDomains(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join(',') === [...b].sort().join(',');
}

function secretsManager(): SecretsPort {
  const client = new SecretsManagerClient({});
  return {
    async get(secretArn) {
      return (await client.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
    },
    async put(secretArn, value) {
      await client.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: value }));
    },
  };
}

/** Always answers CloudFormation (an unanswered custom resource blocks the stack for an hour). */
export async function handler(event: CloudFormationCustomResourceEvent): Promise<void> {
  let response: CloudFormationCustomResourceResponse;
  const common = { StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId };
  try {
    const physicalId = await provision(event, secretsManager());
    response = { ...common, Status: 'SUCCESS', PhysicalResourceId: physicalId };
  } catch (error) {
    console.error(JSON.stringify({ level: 'error', msg: 'TLS secret not provisioned', error: String(error) }));
    const physicalId = 'PhysicalResourceId' in event ? event.PhysicalResourceId : event.LogicalResourceId;
    response = { ...common, Status: 'FAILED', Reason: String(error).slice(0, 500), PhysicalResourceId: physicalId };
  }
  const body = JSON.stringify(response);
  // The pre-signed S3 URL takes a PUT with no content type.
  await fetch(event.ResponseURL, { method: 'PUT', body, headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) } });
}
