/** The `<failure/>` conditions of RFC 6120 §6.5. */
export type SaslCondition =
  | 'aborted'
  | 'account-disabled'
  | 'credentials-expired'
  | 'encryption-required'
  | 'incorrect-encoding'
  | 'invalid-authzid'
  | 'invalid-mechanism'
  | 'malformed-request'
  | 'mechanism-too-weak'
  | 'not-authorized'
  | 'temporary-auth-failure';

/** Authentication fails with this condition; `text` is for logs, not necessarily for the client. */
export class SaslFailure extends Error {
  override name = 'SaslFailure';
  constructor(
    readonly condition: SaslCondition,
    text?: string,
  ) {
    super(text ?? condition);
  }
}
