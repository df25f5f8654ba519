import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { redactSecrets, SECRET_KINDS } from '../../src/evidence/redaction.js';

// Fake secrets are assembled at run time from split prefixes and generated bodies, so
// this file contains no string that a secret scanner would flag.
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const ALNUM = UPPER + LOWER + DIGITS;
const UPPER_ALNUM = UPPER + DIGITS;
const BASE64URL = `${ALNUM}-_`;
const BASE64 = `${ALNUM}+/`;
const HEX = '0123456789abcdef';

/** Deterministic characters from `alphabet`, different for each seed (xorshift32). */
function fake(length: number, alphabet: string, seed: number): string {
  let state = (seed * 0x9e3779b9) | 1;
  let result = '';
  for (let index = 0; index < length; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    result += alphabet[(state >>> 0) % alphabet.length];
  }
  return result;
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/** Returns the 8-character windows of `secret` that appear in `output`, so an empty list means nothing leaked. */
function leakedFragments(output: string, secret: string): string[] {
  const leaked: string[] = [];
  for (let start = 0; start + 8 <= secret.length; start++) {
    const window = secret.slice(start, start + 8);
    if (output.includes(window)) {
      leaked.push(window);
    }
  }
  return leaked;
}

interface SecretCase {
  name: string;
  kind: string;
  secret: string;
  text: string;
}

function secretCase(name: string, kind: string, secret: string, wrap: (secret: string) => string = (value) => value): SecretCase {
  return { name, kind, secret, text: wrap(secret) };
}

const jwtHeader = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
const jwtPayload = base64url(JSON.stringify({ sub: '1234567890', name: 'Test User', iat: 1_700_000_000 }));

const TOKEN_CASES: SecretCase[] = [
  secretCase('AWS access key id', 'aws-access-key', `AK${'IA'}${fake(16, UPPER_ALNUM, 1)}`, (s) => `aws_access_key_id = ${s}`),
  secretCase('AWS session key id', 'aws-access-key', `AS${'IA'}${fake(16, UPPER_ALNUM, 2)}`, (s) => `"AccessKeyId": "${s}",`),
  secretCase('AWS secret key', 'aws-secret-key', fake(40, BASE64, 3), (s) => `aws_secret_access_key = ${s}`),
  secretCase('AWS secret key in env', 'aws-secret-key', fake(40, BASE64, 4), (s) => `export AWS_SECRET_ACCESS_KEY=${s}`),
  secretCase('GitHub personal token', 'github-token', `gh${'p_'}${fake(36, ALNUM, 5)}`, (s) => `token: ${s}`),
  secretCase('GitHub OAuth token', 'github-token', `gh${'o_'}${fake(36, ALNUM, 6)}`),
  secretCase('GitHub user token', 'github-token', `gh${'u_'}${fake(36, ALNUM, 7)}`),
  secretCase('GitHub server token', 'github-token', `gh${'s_'}${fake(36, ALNUM, 8)}`, (s) => `git clone https://x-access-token:${s}@github.com/o/r`),
  secretCase('GitHub refresh token', 'github-token', `gh${'r_'}${fake(76, ALNUM, 9)}`),
  secretCase(
    'GitHub fine-grained token',
    'github-token',
    `github${'_pat_'}${fake(22, ALNUM, 10)}_${fake(59, ALNUM, 11)}`,
    (s) => `GH_TOKEN="${s}"`,
  ),
  secretCase('GitLab token', 'gitlab-token', `gl${'pat-'}${fake(20, BASE64URL, 12)}`, (s) => `PRIVATE-TOKEN: ${s}`),
  secretCase('GitLab deploy token', 'gitlab-token', `gl${'dt-'}${fake(20, BASE64URL, 45)}`),
  secretCase('Atlassian API token', 'atlassian-api-token', `ATA${'TT'}${fake(180, BASE64URL, 46)}`),
  secretCase('Bitbucket app password', 'bitbucket-app-password', `AT${'BB'}${fake(32, ALNUM, 13)}`),
  secretCase('Slack bot token', 'slack-token', `xo${'xb-'}${fake(12, DIGITS, 14)}-${fake(13, DIGITS, 15)}-${fake(24, ALNUM, 16)}`),
  secretCase('Slack user token', 'slack-token', `xo${'xp-'}${fake(12, DIGITS, 17)}-${fake(12, DIGITS, 18)}-${fake(32, HEX, 19)}`),
  secretCase('Slack app token', 'slack-token', `xa${'pp-1-'}${fake(11, UPPER_ALNUM, 20)}-${fake(13, DIGITS, 21)}-${fake(64, HEX, 22)}`),
  secretCase(
    'Slack webhook',
    'slack-webhook',
    `https://hooks.slack.com/services/T${fake(8, UPPER_ALNUM, 23)}/B${fake(8, UPPER_ALNUM, 24)}/${fake(24, ALNUM, 25)}`,
    (s) => `curl -X POST ${s} -d @payload.json`,
  ),
  secretCase('Discord bot token', 'discord-token', `M${fake(25, ALNUM, 26)}.${fake(6, BASE64URL, 27)}.${fake(38, BASE64URL, 28)}`),
  secretCase(
    'Discord webhook',
    'discord-webhook',
    `https://discord.com/api/webhooks/${fake(18, DIGITS, 29)}/${fake(68, BASE64URL, 30)}`,
  ),
  secretCase('OpenAI project key', 'openai-key', `sk-${'proj-'}${fake(156, BASE64URL, 31)}`, (s) => `OPENAI_API_KEY=${s}`),
  secretCase('OpenAI legacy key', 'openai-key', `sk-${fake(48, ALNUM, 32)}`, (s) => `openai.api_key = "${s}"`),
  secretCase('Anthropic key', 'anthropic-key', `sk-${'ant-api03-'}${fake(93, BASE64URL, 33)}AA`, (s) => `x-api-key: ${s}`),
  secretCase('Hugging Face token', 'huggingface-token', `hf${'_'}${fake(34, ALNUM, 34)}`, (s) => `login(token="${s}")`),
  secretCase('Google API key', 'google-api-key', `AI${'za'}${fake(35, BASE64URL, 35)}`, (s) => `const key = '${s}';`),
  secretCase('Google OAuth client secret', 'google-oauth-secret', `GOC${'SPX-'}${fake(28, BASE64URL, 36)}`),
  secretCase('Stripe live key', 'stripe-key', `sk${'_live_'}${fake(24, ALNUM, 37)}`, (s) => `Stripe.api_key = '${s}'`),
  secretCase('Stripe test key', 'stripe-key', `sk${'_test_'}${fake(24, ALNUM, 47)}`),
  secretCase('Stripe restricted key', 'stripe-key', `rk${'_live_'}${fake(24, ALNUM, 38)}`),
  secretCase('Stripe webhook secret', 'stripe-key', `wh${'sec_'}${fake(32, ALNUM, 39)}`),
  secretCase('Twilio API key', 'twilio-api-key', `S${'K'}${fake(32, HEX, 40)}`),
  secretCase('SendGrid key', 'sendgrid-key', `S${'G.'}${fake(22, BASE64URL, 41)}.${fake(43, BASE64URL, 42)}`),
  secretCase('npm token', 'npm-token', `np${'m_'}${fake(36, ALNUM, 43)}`, (s) => `//registry.npmjs.org/:_authToken=${s}`),
  secretCase('JWT', 'jwt', `${jwtHeader}.${jwtPayload}.${fake(43, BASE64URL, 44)}`, (s) => `Cookie: session=${s}; Path=/`),
  secretCase('unsigned JWT', 'jwt', `${base64url('{"alg":"none"}')}.${jwtPayload}.`),
];

const ASSIGNMENT_CASES: SecretCase[] = [
  secretCase('Python string', 'password', fake(12, ALNUM, 50), (s) => `DATABASE_PASSWORD = "${s}"`),
  secretCase('single quotes', 'password', fake(12, ALNUM, 51), (s) => `password = '${s}'`),
  secretCase('JSON', 'password', fake(14, ALNUM, 52), (s) => `{ "password": "${s}", "user": "admin" }`),
  secretCase('YAML', 'secret', `${fake(10, LOWER, 53)}${fake(4, DIGITS, 54)}`, (s) => `  client_secret: ${s}`),
  secretCase('dotenv', 'secret', fake(50, `${ALNUM}!@%^*`, 55), (s) => `SECRET_KEY=${s}`),
  secretCase('dotenv letters only', 'password', fake(16, LOWER, 56), (s) => `DB_PASSWORD=${s}`),
  secretCase('shell export', 'token', fake(30, ALNUM, 57), (s) => `export API_TOKEN=${s}`),
  secretCase('added diff line', 'token', fake(30, ALNUM, 58), (s) => `+export SERVICE_TOKEN=${s}`),
  secretCase('compose list item', 'password', fake(16, LOWER, 76), (s) => `      - POSTGRES_PASSWORD=${s}`),
  secretCase('Dockerfile ENV', 'secret', fake(16, LOWER, 77), (s) => `ENV APP_SECRET=${s}`),
  secretCase('npmrc password', 'password', Buffer.from(fake(12, LOWER, 78)).toString('base64'), (s) => `//npm.example.com/:_password=${s}`),
  secretCase('removed diff line', 'password', fake(20, LOWER, 59), (s) => `-ADMIN_PASSWORD=${s}`),
  secretCase('JavaScript object', 'api-key', fake(32, HEX, 60), (s) => `const client = new Client({ apiKey: "${s}" });`),
  secretCase('Go', 'token', fake(24, ALNUM, 61), (s) => `authToken := "${s}"`),
  secretCase('PHP array', 'password', fake(12, ALNUM, 62), (s) => `'password' => '${s}',`),
  secretCase('Ruby symbol', 'secret', fake(40, HEX, 63), (s) => `config.secret_key_base = "${s}"`),
  secretCase('INI', 'password', `${fake(6, LOWER, 64)}${fake(3, DIGITS, 65)}`, (s) => `password = ${s}`),
  secretCase('properties', 'password', `${fake(6, UPPER, 66)}${fake(4, DIGITS, 67)}`, (s) => `spring.datasource.password=${s}`),
  secretCase('connection string', 'password', `${fake(8, ALNUM, 68)}9!`, (s) => `Server=db;User Id=sa;Password=${s};`),
  secretCase('Azure account key', 'access-key', `${fake(86, BASE64, 69)}==`, (s) => `DefaultEndpointsProtocol=https;AccountName=x;AccountKey=${s};`),
  secretCase('npm auth', 'token', Buffer.from(`user:${fake(10, ALNUM, 70)}`).toString('base64'), (s) => `_auth=${s}`),
  secretCase('query parameter', 'token', fake(32, ALNUM, 71), (s) => `GET /callback?state=1&access_token=${s}&x=2`),
  secretCase('escaped quote', 'password', `${fake(6, ALNUM, 72)}\\"${fake(6, ALNUM, 73)}`, (s) => `"password": "${s}"`),
  secretCase('passphrase', 'password', fake(16, ALNUM, 74), (s) => `ssh_passphrase: "${s}"`),
  secretCase('private key value', 'private-key', fake(64, HEX, 75), (s) => `PRIVATE_KEY=${s}`),
];

const CONTEXT_CASES: SecretCase[] = [
  secretCase('URL password', 'url-password', fake(14, ALNUM, 80), (s) => `DATABASE_URL=postgres://app:${s}@db.internal:5432/app`),
  secretCase('URL password without user', 'url-password', fake(24, ALNUM, 87), (s) => `REDIS_URL=redis://:${s}@cache:6379/0`),
  secretCase('URL password in remote', 'url-password', fake(20, ALNUM, 81), (s) => `url = https://deploy:${s}@git.example.com/repo.git`),
  secretCase('Bearer header', 'bearer-token', fake(40, `${ALNUM}._-`, 82), (s) => `curl -H "Authorization: Bearer ${s}" https://api`),
  secretCase('Basic header', 'basic-auth', Buffer.from(`admin:${fake(12, ALNUM, 83)}`).toString('base64'), (s) => `Authorization: Basic ${s}`),
  secretCase('password flag', 'password', fake(14, ALNUM, 84), (s) => `mysql --user root --password ${s} app`),
  secretCase('quoted token flag', 'token', fake(20, ALNUM, 85), (s) => `cli deploy --auth-token "${s}"`),
  secretCase('XML element', 'password', fake(14, ALNUM, 86), (s) => `<server><id>repo</id><password>${s}</password></server>`),
];

describe('redactSecrets', () => {
  it.each([...TOKEN_CASES, ...ASSIGNMENT_CASES, ...CONTEXT_CASES].map((entry) => [entry.name, entry] as const))(
    'redacts %s',
    (_name, entry) => {
      const result = redactSecrets(entry.text);

      expect(result.text).toContain(`[REDACTED:${entry.kind}]`);
      expect(result.count).toBe(1);
      expect(result.kinds).toEqual({ [entry.kind]: 1 });
      expect(leakedFragments(result.text, entry.secret)).toEqual([]);
    },
  );

  it('keeps the text around a secret', () => {
    const secret = `gh${'p_'}${fake(36, ALNUM, 90)}`;

    expect(redactSecrets(`before ${secret} after`).text).toBe('before [REDACTED:github-token] after');
  });

  it('keeps the key and quotes of an assignment', () => {
    const secret = fake(12, ALNUM, 91);

    expect(redactSecrets(`password = "${secret}"`).text).toBe('password = "[REDACTED:password]"');
  });

  it('counts every secret', () => {
    const text = [
      `AK${'IA'}${fake(16, UPPER_ALNUM, 92)}`,
      `password: "${fake(12, ALNUM, 93)}"`,
      `gh${'p_'}${fake(36, ALNUM, 94)} and gh${'p_'}${fake(36, ALNUM, 95)}`,
    ].join('\n');

    const result = redactSecrets(text);

    expect(result.count).toBe(4);
    expect(result.kinds).toEqual({ 'aws-access-key': 1, 'github-token': 2, password: 1 });
  });

  it('finds nothing in its own output', () => {
    const text = [...TOKEN_CASES, ...ASSIGNMENT_CASES, ...CONTEXT_CASES].map((entry) => entry.text).join('\n');
    const first = redactSecrets(text);

    const second = redactSecrets(first.text);

    expect(second.count).toBe(0);
    expect(second.text).toBe(first.text);
  });

  it('lists every kind it can emit', () => {
    const emitted = new Set([...TOKEN_CASES, ...ASSIGNMENT_CASES, ...CONTEXT_CASES].map((entry) => entry.kind));
    emitted.add('private-key');

    expect([...emitted].filter((kind) => !(SECRET_KINDS as readonly string[]).includes(kind))).toEqual([]);
  });
});

describe('redactSecrets private keys', () => {
  const body = [fake(64, BASE64, 100), fake(64, BASE64, 101), `${fake(40, BASE64, 102)}==`];
  const pem = (label: string, lines: string[] = body): string =>
    [`-----BEGIN ${label}-----`, ...lines, `-----END ${label}-----`].join('\n');
  const secret = body.join('');

  function expectRedactedKey(text: string, expected: string): void {
    const result = redactSecrets(text);

    expect(result.text).toBe(expected);
    expect(result.count).toBe(1);
    expect(leakedFragments(result.text, secret)).toEqual([]);
  }

  it.each(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY', 'OPENSSH PRIVATE KEY', 'ENCRYPTED PRIVATE KEY', 'PGP PRIVATE KEY BLOCK'])(
    'redacts a %s block',
    (label) => {
      expectRedactedKey(`key:\n${pem(label)}\nafter\n`, 'key:\n[REDACTED:private-key]\nafter\n');
    },
  );

  it('redacts an encrypted key with headers', () => {
    const lines = ['Proc-Type: 4,ENCRYPTED', `DEK-Info: AES-128-CBC,${fake(32, HEX, 103).toUpperCase()}`, '', ...body];

    expectRedactedKey(pem('RSA PRIVATE KEY', lines), '[REDACTED:private-key]');
  });

  it('redacts a key added in a diff', () => {
    const diff = ['@@ -0,0 +1,5 @@', ...pem('RSA PRIVATE KEY').split('\n').map((line) => `+${line}`), ' unchanged'].join('\n');

    expectRedactedKey(diff, '@@ -0,0 +1,5 @@\n+[REDACTED:private-key]\n unchanged');
  });

  it('redacts a key removed in a diff', () => {
    const diff = pem('OPENSSH PRIVATE KEY')
      .split('\n')
      .map((line) => `-${line}`)
      .join('\n');

    expectRedactedKey(diff, '-[REDACTED:private-key]');
  });

  it('redacts a key in context lines', () => {
    const diff = pem('PRIVATE KEY')
      .split('\n')
      .map((line) => ` ${line}`)
      .join('\n');

    expectRedactedKey(diff, ' [REDACTED:private-key]');
  });

  it('redacts a key in a JSON string', () => {
    const json = `{"type": "service_account", "private_key": "${pem('PRIVATE KEY').replaceAll('\n', '\\n')}\\n", "client_email": "a@b"}`;

    expectRedactedKey(json, '{"type": "service_account", "private_key": "[REDACTED:private-key]\\n", "client_email": "a@b"}');
  });

  it('redacts a key in an indented YAML block', () => {
    const yaml = `tls:\n  key: |\n${pem('EC PRIVATE KEY')
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n')}\n  cert: x`;

    expectRedactedKey(yaml, 'tls:\n  key: |\n    [REDACTED:private-key]\n  cert: x');
  });

  it('redacts a key cut off by truncation', () => {
    const truncated = ['+-----BEGIN RSA PRIVATE KEY-----', `+${body[0]}`, `+${(body[1] as string).slice(0, 30)}`].join('\n');

    const result = redactSecrets(truncated);

    expect(result.text).toBe('+[REDACTED:private-key]');
    expect(leakedFragments(result.text, secret)).toEqual([]);
  });

  it('redacts key material interrupted by code', () => {
    const text = `const key = "-----BEGIN PRIVATE KEY-----\\n${body[0]}\\n" + load();`;

    const result = redactSecrets(text);

    expect(result.count).toBe(1);
    expect(leakedFragments(result.text, secret)).toEqual([]);
  });

  it('keeps code that only names the markers', () => {
    const code = [
      'const BEGIN = "-----BEGIN PRIVATE KEY-----";',
      'const END = "-----END PRIVATE KEY-----";',
      'if (pem.startsWith(BEGIN)) { parse(pem); }',
    ].join('\n');

    expect(redactSecrets(code)).toEqual({ text: code, count: 0, kinds: {} });
  });

  it('keeps public keys and certificates', () => {
    const text = [pem('PUBLIC KEY'), pem('CERTIFICATE')].join('\n');

    expect(redactSecrets(text).count).toBe(0);
  });

  it('redacts key lines of a hunk without markers', () => {
    const keyLines = [1, 2, 3, 4].map((seed) => fake(64, BASE64, 900 + seed));
    const hunk = ['@@ -4,4 +4,4 @@', ` ${keyLines[0]}`, `-${keyLines[1]}`, `+${keyLines[2]}`, ` ${keyLines[3]}`, ' -----END'].join('\n');

    const result = redactSecrets(hunk);

    expect(result.count).toBe(1);
    expect(result.text).toBe(['@@ -4,4 +4,4 @@', ' [REDACTED:private-key]', ' -----END'].join('\n'));
    for (const line of keyLines) {
      expect(leakedFragments(result.text, line)).toEqual([]);
    }
  });

  it('keeps two base64 lines', () => {
    const text = [fake(64, BASE64, 1), fake(64, BASE64, 2)].join('\n');

    expect(redactSecrets(text).count).toBe(0);
  });

  it('redacts two keys separately', () => {
    const result = redactSecrets(`${pem('RSA PRIVATE KEY')}\nmiddle\n${pem('EC PRIVATE KEY')}`);

    expect(result.text).toBe('[REDACTED:private-key]\nmiddle\n[REDACTED:private-key]');
    expect(result.count).toBe(2);
  });
});

describe('redactSecrets placeholders', () => {
  it.each([
    'password = ""',
    "password = ''",
    'password: ${DB_PASSWORD}',
    'password: "${DB_PASSWORD}"',
    'PASSWORD=$DB_PASSWORD',
    'password: "{{ vault_db_password }}"',
    'password: "<your-password>"',
    'api_key = "YOUR_API_KEY"',
    'token: "your-token-here"',
    'api_key = "insert_key_here"',
    'password = "changeme"',
    'password: "********"',
    'SECRET_KEY=xxxxxxxxxxxxxxxx',
    'password: "Password"',
    'password: null',
    'secret: true',
    '"password": "%(db_password)s"',
    'password = "#{ENV.fetch(\'PW\')}"',
    'Authorization: Bearer YOUR_ACCESS_TOKEN_HERE',
    'postgres://user:password@localhost/db',
    'https://user:${PASSWORD}@example.com',
    'mysql --password $MYSQL_PASSWORD',
    '<password>${env.PASSWORD}</password>',
  ])('keeps %s', (text) => {
    expect(redactSecrets(text)).toEqual({ text, count: 0, kinds: {} });
  });
});

describe('redactSecrets ordinary code', () => {
  it.each([
    'if (password === confirmPassword) { save(); }',
    'if password != stored_password:',
    'const token = await getToken();',
    'token = tokenizer.encode(text)',
    'tokenizer = "bert-base-uncased"',
    'API_KEY = os.environ["API_KEY"]',
    'const apiKey = process.env.API_KEY;',
    'password: userPassword,',
    'password: string;',
    'secret?: string',
    'login(user, password=password)',
    'password: z.string().min(8),',
    '_secret = DEFAULT_SECRET_NAME',
    'TOKEN_URL = "https://auth.example.com/oauth/token"',
    'PASSWORD_MIN_LENGTH=12',
    'secrets: inherit',
    'token::Kind::Ident',
    'password.length >= 8',
    'console.log("password: invalid");',
    'The Basic authentication scheme sends credentials.',
    'Use a Bearer token in the Authorization header.',
    'docker login --password-stdin',
    'key = "-----BEGIN PRIVATE KEY-----"',
    'tokens = ["a", "b"]',
    'Secretary of State',
    '<input type="password" name="password" />',
  ])('keeps %s', (text) => {
    expect(redactSecrets(text)).toEqual({ text, count: 0, kinds: {} });
  });
});

const MEGABYTE = 1 << 20;
/** Hard limit for one near-miss input, far above what linear-time patterns need for 1 MB. */
const WORKER_LIMIT_MS = 60_000;

let moduleDir = '';
let moduleUrl = '';

beforeAll(() => {
  // The worker cannot load TypeScript, so it gets the module transpiled from the same source.
  const source = fs.readFileSync(new URL('../../src/evidence/redaction.ts', import.meta.url), 'utf8');
  const output = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  moduleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepper-redaction-'));
  const file = path.join(moduleDir, 'redaction.mjs');
  fs.writeFileSync(file, output);
  moduleUrl = pathToFileURL(file).href;
});

afterAll(() => {
  if (moduleDir !== '') {
    fs.rmSync(moduleDir, { recursive: true, force: true });
  }
});

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.moduleUrl).then(({ redactSecrets }) => {
  const result = redactSecrets(workerData.text);
  parentPort.postMessage({ count: result.count, secretLeft: workerData.secret !== '' && result.text.includes(workerData.secret) });
});
`;

/**
 * Runs redactSecrets on `text` in a worker thread and terminates it after
 * WORKER_LIMIT_MS. A test timeout cannot stop a regular expression that blocks the
 * test's own thread, so a runaway pattern would hang the run instead of failing it.
 */
function redactInWorker(text: string, secret = ''): Promise<{ count: number; secretLeft: boolean }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { moduleUrl, text, secret } });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`redactSecrets did not finish within ${WORKER_LIMIT_MS} ms: a pattern probably backtracks on this input`));
    }, WORKER_LIMIT_MS);
    worker.once('message', (result: { count: number; secretLeft: boolean }) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(result);
    });
    worker.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

describe('redactSecrets near-miss input', () => {
  const fill = (unit: string): string => unit.repeat(Math.ceil(MEGABYTE / unit.length)).slice(0, MEGABYTE);
  const testTimeout = WORKER_LIMIT_MS + 30_000;

  // Each input puts a partial match at every position, which a backtracking pattern
  // with nested or unbounded repetition would turn into quadratic or worse work. The
  // tests assert that the work finishes and what it found, never how long it took.
  it.each([
    ['letters', fill('a')],
    ['AWS prefixes', fill('AKIA')],
    ['JWT prefixes', fill('eyJ')],
    ['JWT parts', fill('eyJab.')],
    ['GitHub prefixes', fill('ghp_')],
    ['sk prefixes', fill('sk-')],
    ['assignments without values', fill('password=')],
    ['unclosed quotes', fill('password="')],
    ['chained assignments', `password=${fill('password')}`],
    ['spaced assignments', fill('password    =    ')],
    ['BEGIN markers with code', fill('-----BEGIN PRIVATE KEY-----.')],
    ['END near-misses', `-----BEGIN PRIVATE KEY-----\n${fill('-----END PRIVATE KE\n')}`],
    ['dashes', fill('-')],
    ['URL prefixes', fill('https://u:')],
    ['Bearer words', fill('Bearer ')],
    ['flags', fill('--password ')],
    ['XML tags', fill('<password>')],
    ['backslashes in a string', `password="${fill('\\')}`],
    ['key-name characters', fill('A_')],
  ])('finishes on a 1 MB line of %s', { timeout: testTimeout }, async (_name, text) => {
    const result = await redactInWorker(text);

    expect(result.count).toBe(0);
  });

  it('finishes on 1 MB of near-miss lines', { timeout: testTimeout }, async () => {
    const lines = [
      'if (password === confirm) return;',
      'const token = getToken(user);',
      'AKIA1234',
      'ghp_short',
      'eyJhbGciOi.eyJzdWIi',
      '-----BEGIN PRIVATE KEY-----',
      'password: "${PASSWORD}"',
      'https://example.com:8080/path',
      'Bearer short',
      'export NAME=value',
    ];
    const text = fill(`${lines.join('\n')}\n`);

    const result = await redactInWorker(text);

    expect(result.count).toBe(0);
  });

  it('redacts a secret inside 1 MB of text', { timeout: testTimeout }, async () => {
    const secret = `gh${'p_'}${fake(36, ALNUM, 120)}`;
    const line = 'const value = compute(input);\n';
    const filler = line.repeat(Math.ceil(MEGABYTE / line.length));

    const result = await redactInWorker(`${filler}${secret}\n${filler}`, secret);

    expect(result.count).toBe(1);
    expect(result.secretLeft).toBe(false);
  });
});

describe('redactSecrets key names', () => {
  it.each([
    ['DB_PASS=', 'password'],
    ['SESSION_KEY=', 'access-key'],
    ['export ENCRYPTION_KEY=', 'access-key'],
    ['SIGNING_KEY: ', 'access-key'],
    ['INTERNAL_SIGNING_SALT=', 'secret'],
    ['pwd = ', 'password'],
  ])('redacts %s', (assignment, kind) => {
    const value = fake(20, ALNUM, 4242);

    const result = redactSecrets(`${assignment}${value}`);

    expect(result.count).toBe(1);
    expect(result.text).toBe(`${assignment}[REDACTED:${kind}]`);
  });

  it.each(['const pass = true;', 'sort_key = "name"', 'passing = compute(x)'])('keeps %s', (line) => {
    expect(redactSecrets(line).count).toBe(0);
  });
});

describe('redactSecrets key lines without markers', () => {
  const keyLines = [1, 2, 3].map((seed) => fake(64, BASE64, 950 + seed));

  it('redacts a run that is the whole text', () => {
    const result = redactSecrets(keyLines.map((line) => `+${line}`).join('\n'));

    expect(result.text).toBe('+[REDACTED:private-key]');
    expect(result.count).toBe(1);
  });

  it('redacts two runs apart', () => {
    const text = [...keyLines, 'const middle = 1;', ...keyLines, ''].join('\n');

    const result = redactSecrets(text);

    expect(result.text).toBe('[REDACTED:private-key]\nconst middle = 1;\n[REDACTED:private-key]\n');
    expect(result.count).toBe(2);
  });

  it('keeps lines that end in CR', () => {
    const text = keyLines.map((line) => `${line}\r`).join('\n');

    expect(redactSecrets(text)).toEqual({ text, count: 0, kinds: {} });
  });

  it('keeps a run under a BEGIN line', () => {
    const text = ['-----BEGIN CERTIFICATE-----', ...keyLines, 'end'].join('\n');

    expect(redactSecrets(text).count).toBe(0);
    expect(redactSecrets(text).text).toBe(text);
  });
});
