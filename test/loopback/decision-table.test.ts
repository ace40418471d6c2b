import { decisionRows, formatDecisionTable, userPrefixGrants, type SignedInSession } from '../../local/decision-table';
import type { PolicyDocument } from '../../local/iam-decisions';

/**
 * The local command's table: rows come from the role's own policies (every per-user prefix it grants,
 * every other concrete action), and each cell is iam-simulate's decision for that session.
 */

const READERS = 'arn:aws:iam::123456789012:role/Readers';
const EDITORS = 'arn:aws:iam::123456789012:role/Editors';
const READ: PolicyDocument = {
  Statement: [
    { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::data/home/${saml:sub}/*' },
    { Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::data', Condition: { StringLike: { 's3:prefix': 'home/${saml:sub}/*' } } },
  ],
};
const EDIT: PolicyDocument = {
  Statement: [
    ...READ.Statement,
    { Effect: 'Allow', Action: ['s3:PutObject', 's3:DeleteObject'], Resource: 'arn:aws:s3:::data/home/${saml:sub}/*' },
    { Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::shared/team-${aws:PrincipalTag/team}/*' },
    { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: 'arn:aws:sqs:us-east-1:123456789012:uploads' },
    { Effect: 'Deny', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::data/home/*/keep/*' },
  ],
};
const policies = (arn: string) => (arn === EDITORS ? [EDIT] : [READ]);
const session = (user: string, roleArn: string, tags: Record<string, string> = {}): SignedInSession => ({
  user, subject: `auth0|${user}`, roleArn, sessionTags: Object.entries(tags).map(([key, value]) => ({ key, value })),
});

test('finds each per-user prefix the policies grant, once', () => {
  expect(userPrefixGrants([READ, EDIT])).toEqual([{ bucket: 'data', prefix: 'home/' }]);
  expect(userPrefixGrants([{ Statement: [{ Effect: 'Deny', Action: 's3:*', Resource: 'arn:aws:s3:::x/${saml:sub}/*' }] }])).toEqual([]);
});

test('each session is decided by its own role: a reader may read its prefix but not write, an editor both, neither another\'s', () => {
  const rows = decisionRows([session('alice', EDITORS), session('bob', READERS)], policies, ['data']);
  const cell = (label: string) => rows.find((row) => row.label === label)?.decisions;
  expect(cell('PutObject    home/auth0|alice/notes.txt')).toEqual(['Allowed', 'ImplicitlyDenied']);
  expect(cell('GetObject    home/auth0|alice/notes.txt')).toEqual(['Allowed', 'ImplicitlyDenied']);
  expect(cell('GetObject    home/auth0|bob/notes.txt')).toEqual(['ImplicitlyDenied', 'Allowed']);
  expect(cell('PutObject    home/auth0|bob/notes.txt')).toEqual(['ImplicitlyDenied', 'ImplicitlyDenied']);
  expect(cell('ListBucket   home/auth0|bob/ (prefix)')).toEqual(['ImplicitlyDenied', 'Allowed']);
  expect(cell('GetObject    home/auth0|alicex/notes.txt')).toEqual(['ImplicitlyDenied', 'ImplicitlyDenied']);
  expect(cell('ListBucket   home/ (prefix)')).toEqual(['ImplicitlyDenied', 'ImplicitlyDenied']);
  // Whatever else the roles grant, on its own resources.
  expect(cell('sqs:SendMessage arn:aws:sqs:us-east-1:123456789012:uploads')).toEqual(['Allowed', 'ImplicitlyDenied']);
});

test('an explicit deny in the policy shows as denied', () => {
  const rows = decisionRows([session('alice', EDITORS)], () => [{
    Statement: [...EDIT.Statement, { Effect: 'Deny', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::data/home/${saml:sub}/notes.txt' }],
  }], ['data']);
  expect(rows.find((row) => row.label === 'DeleteObject home/auth0|alice/notes.txt')?.decisions).toEqual(['ExplicitlyDenied']);
  expect(formatDecisionTable(rows, ['alice'])).toMatch(/^DeleteObject home\/auth0\|alice\/notes\.txt +denied$/m);
});

test('without a per-user prefix the table shows the buckets themselves', () => {
  const rows = decisionRows([session('alice', READERS)], () => [{ Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::open/*' }] }], ['open']);
  expect(rows.map((row) => [row.label, row.decisions[0]])).toEqual([
    ['GetObject    open/notes.txt', 'Allowed'],
    ['ListBucket   open', 'ImplicitlyDenied'],
  ]);
});

test('the table has one column per user, wide enough for long ids', () => {
  const text = formatDecisionTable([{ label: 'GetObject    x', decisions: ['Allowed', 'ImplicitlyDenied'] }], ['a', 'auth0|someone-long']);
  expect(text.split('\n')).toEqual([
    'request         a        auth0|someone-long',
    'GetObject    x  allowed  denied',
  ]);
});

test('a DynamoDB grant on the user\'s own partition: one row per action and partition, allowed to the partition\'s owner only', () => {
  const items: PolicyDocument = {
    Statement: [{
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:Query'],
      Resource: ['arn:aws:dynamodb:eu-west-1:111122223333:table/notes', 'arn:aws:dynamodb:eu-west-1:111122223333:table/notes/index/*'],
      Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['${saml:sub}'] }, 'Null': { 'dynamodb:LeadingKeys': 'false' } },
    }],
  };
  const rows = decisionRows([session('alice', READERS), session('bob', READERS)], () => [items], []);
  expect(rows.map((row) => [row.label, ...row.decisions])).toEqual([
    ['GetItem      table/notes (partition auth0|alice)', 'Allowed', 'ImplicitlyDenied'],
    ['GetItem      table/notes (partition auth0|bob)', 'ImplicitlyDenied', 'Allowed'],
    ['Query        table/notes (partition auth0|alice)', 'Allowed', 'ImplicitlyDenied'],
    ['Query        table/notes (partition auth0|bob)', 'ImplicitlyDenied', 'Allowed'],
    ['Query        table/notes/index/* (partition auth0|alice)', 'Allowed', 'ImplicitlyDenied'],
    ['Query        table/notes/index/* (partition auth0|bob)', 'ImplicitlyDenied', 'Allowed'],
  ]);
});
