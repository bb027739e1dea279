export const USAGE = `Usage: cirrus <command> [options]

Commands:
  user add <jid> [--password P]      create an account
  user del <jid>                     delete an account and all its data
  user passwd <jid> [--password P]   set an account's password
  user list [--domain D]             list accounts, of the given domains only with --domain

Without --password the password is read from stdin (a hidden prompt on a terminal);
prefer that: a password on the command line is visible to other local users.

Where the accounts are (default: the local runtime started by \`npm start\`, from .cirrus/local.json):
  --dynamodb-endpoint URL   a DynamoDB endpoint (DynamoDB Local, LocalStack)
  --table NAME              the table (default with an endpoint: cirrus); without an endpoint,
                            in AWS with the default credential chain
  --region R                the AWS region
  --domain D                the domains served (repeatable or comma-separated)
  --stack NAME              a stack deployed with npx cdk deploy: its outputs name the table and
                            the domains (the stack is looked up in --region, else AWS_REGION)

  -h, --help                show this help`;
