/** A failure the store reports in domain terms; callers never see DynamoDB's exceptions for these. */
export class StoreError extends Error {
  override name = 'StoreError';
}

export class AccountExistsError extends StoreError {
  override name = 'AccountExistsError';
  constructor(readonly jid: string) {
    super(`${jid} already exists`);
  }
}

export class AccountNotFoundError extends StoreError {
  override name = 'AccountNotFoundError';
  constructor(readonly jid: string) {
    super(`${jid} does not exist`);
  }
}
