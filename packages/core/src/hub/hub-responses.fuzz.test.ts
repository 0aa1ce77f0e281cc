// Fuzz: Hub responses. Two raw HTTP servers on 127.0.0.1 (the Hub, and another origin standing in
// for the CDN or anyone else) answer a scripted sequence: the responses a real download gets, with
// statuses, headers (Location in every form, ETag, X-Repo-Commit, X-Linked-*, Content-Length,
// Content-Range) and bodies mutated, bodies cut short, and stalls (the timeouts are set to
// 150 ms). Every download ends in a file, "no such file" or a VitkitError, within a time bound
// (10 s a run) and a memory bound; the token never reaches the other origin; nothing is written
// outside the cache folder; a returned file hashes to the etag it is stored under.
// Each input makes real requests, so CI tries fewer than the parsers' fuzz: fuzzRuns(250) for
// Node's cache download and fuzzRuns(150) for the browser loader; `pnpm fuzz` tries more.
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve, sep } from 'node:path';
import { fuzzRuns, rejectionCodeOf } from '@vitkit/test-support';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubFile } from './hub-download.js';
import type { HubSettings } from './hub-settings.js';
import { loadPretrained as loadPretrainedBrowser } from './load-pretrained-browser.js';
import { type ScriptedResponse, type ScriptedServer, startScriptedServer } from './test-support/scripted-server.js';

const TOKEN = 'hf_fuzz_token';
const REPO = 'org/repo';
const COMMIT = 'c'.repeat(40);
const CONFIG = new Uint8Array(readFileSync(new URL('../../../../fixtures/dinov2/default-res/config.json', import.meta.url)));
const WEIGHTS = new Uint8Array(4096).map((_, i) => (i * 31) % 251);
const TIMEOUT_MS = 150;
/** The fork running this file may not grow past this (bodies here are a few KB; downloads stream to disk). */
const RSS_BOUND_MB = 1536;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Uint8Array) => createHash('sha1').update(`blob ${b.byteLength}\0`).update(b).digest('hex');

/** A Location, rendered once the servers' addresses are known. */
type LocationForm =
  | 'other'
  | 'self'
  | 'relative'
  | 'backslash'
  | 'tab'
  | 'double-backslash'
  | 'protocol-relative'
  | 'file'
  | 'data'
  | 'garbage';

interface Step {
  status: number;
  headers: [string, string | { location: LocationForm }][];
  body: Uint8Array;
  finish: ScriptedResponse['finish'];
  at: number;
}

const locationForm = fc.constantFrom<LocationForm>(
  'other',
  'self',
  'relative',
  'backslash',
  'tab',
  'double-backslash',
  'protocol-relative',
  'file',
  'data',
  'garbage',
);

const headerValue = fc.oneof(
  fc.constantFrom(sha256(WEIGHTS), gitSha1(CONFIG), `"${sha256(WEIGHTS)}"`, `W/"${gitSha1(CONFIG)}"`, COMMIT, '../../escape', '"a/b"', ''),
  fc.constantFrom(
    '0',
    '10',
    String(CONFIG.length),
    String(WEIGHTS.length),
    '99999999999999999999',
    '-1',
    'abc',
    'bytes 0-9/10',
    'bytes 5-',
  ),
  fc.stringMatching(/^[ -~\t]{0,40}$/),
);

const header: fc.Arbitrary<Step['headers'][number]> = fc.oneof(
  fc.tuple(
    fc.constant('location'),
    locationForm.map((location) => ({ location })),
  ),
  fc.tuple(
    fc.constantFrom('etag', 'x-linked-etag', 'x-repo-commit', 'x-linked-size', 'content-length', 'content-range', 'x-error-code'),
    headerValue,
  ),
  fc.tuple(fc.constant('x-error-code'), fc.constantFrom('EntryNotFound', 'RepoNotFound', 'RevisionNotFound', 'GatedRepo')),
);

const finish = fc.oneof(
  { weight: 6, arbitrary: fc.constant('end' as const) },
  { weight: 2, arbitrary: fc.constant('cut' as const) },
  { weight: 1, arbitrary: fc.constant('stall' as const) },
  { weight: 1, arbitrary: fc.constant('silent' as const) },
);

const randomStep: fc.Arbitrary<Step> = fc.record({
  status: fc.oneof(
    fc.constantFrom(200, 206, 301, 302, 307, 308, 304, 401, 403, 404, 416, 429, 500, 503),
    fc.integer({ min: 100, max: 599 }),
  ),
  headers: fc.array(header, { maxLength: 6 }),
  body: fc.oneof(fc.constant(CONFIG), fc.constant(WEIGHTS), fc.uint8Array({ maxLength: 2048 })),
  finish,
  at: fc.nat({ max: 5000 }),
});

/** What a real Hub sends for a regular file (HEAD, GET) and for an LFS file (HEAD, redirect, CDN GET). */
function realSteps(lfs: boolean): Step[] {
  if (!lfs) {
    const headers: Step['headers'] = [
      ['etag', `"${gitSha1(CONFIG)}"`],
      ['x-repo-commit', COMMIT],
      ['content-length', String(CONFIG.length)],
    ];
    return [
      { status: 200, headers, body: CONFIG, finish: 'end', at: 0 },
      { status: 200, headers, body: CONFIG, finish: 'end', at: 0 },
    ];
  }
  const redirect: Step = {
    status: 302,
    headers: [
      ['location', { location: 'other' }],
      ['x-linked-etag', `"${sha256(WEIGHTS)}"`],
      ['x-linked-size', String(WEIGHTS.length)],
      ['x-repo-commit', COMMIT],
    ],
    body: new Uint8Array(0),
    finish: 'end',
    at: 0,
  };
  const cdn: Step = { status: 200, headers: [['content-length', String(WEIGHTS.length)]], body: WEIGHTS, finish: 'end', at: 0 };
  return [redirect, cdn];
}

/** Real steps with some replaced or changed, and random steps around them. */
const scenario = fc
  .tuple(
    fc.boolean(),
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.oneof(randomStep, fc.record({ headers: fc.array(header, { maxLength: 3 }) }), fc.record({ finish, at: fc.nat({ max: 5000 }) })),
      ),
      {
        maxLength: 3,
      },
    ),
    fc.array(randomStep, { maxLength: 3 }),
  )
  .map(([lfs, edits, extra]) => {
    const steps = [...realSteps(lfs), ...extra];
    for (const [at, edit] of edits) {
      const i = at % steps.length;
      steps[i] =
        'status' in edit
          ? edit
          : 'headers' in edit
            ? { ...steps[i], headers: [...steps[i].headers, ...edit.headers] }
            : { ...steps[i], ...edit };
    }
    return { file: lfs ? 'model.safetensors' : 'config.json', steps };
  });

let hub: ScriptedServer;
let other: ScriptedServer;
let script: Step[] = [];
let served = 0;

function render(step: Step | undefined): ScriptedResponse {
  // Past the script: the repo is gone, which ends any retrying.
  if (!step) return { status: 404, headers: [['x-error-code', 'RepoNotFound']], body: new Uint8Array(0), finish: 'end' };
  const headers = step.headers.map(([name, value]): [string, string] => [
    name,
    typeof value === 'string' ? value : locationOf(value.location),
  ]);
  return { status: step.status, headers, body: step.body, finish: step.finish, at: step.at };
}

function locationOf(form: LocationForm): string {
  const path = `/cdn/${sha256(WEIGHTS)}`;
  switch (form) {
    case 'other':
      return `${other.origin}${path}`;
    case 'self':
      return `${hub.origin}/${REPO}/resolve/main/moved`;
    case 'relative':
      return `/${REPO}/resolve/main/moved`;
    case 'backslash':
      return `/\\${other.hostPort}${path}`;
    case 'tab':
      return `/\t/${other.hostPort}${path}`;
    case 'double-backslash':
      return `\\\\${other.hostPort}${path}`;
    case 'protocol-relative':
      return `//${other.hostPort}${path}`;
    case 'file':
      return 'file:///etc/passwd';
    case 'data':
      return 'data:,hello';
    default:
      return 'http://[::1';
  }
}

beforeAll(async () => {
  const answer = () => render(script[served++]);
  hub = await startScriptedServer(answer);
  other = await startScriptedServer(answer);
});
afterAll(async () => {
  await hub?.close();
  await other?.close();
});

/** Every path under `root`, resolved. */
async function everything(root: string): Promise<string[]> {
  return (await readdir(root, { recursive: true })).map((p) => resolve(root, p));
}

describe('Hub responses (fuzz)', () => {
  it("Node's cache download: a file, no file, or a VitkitError; no token to the other origin; nothing outside the cache", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, fc.boolean(), async ({ file, steps }, optional) => {
        script = steps;
        served = 0;
        hub.requests.length = 0;
        other.requests.length = 0;
        const sandbox = await mkdtemp(join(tmpdir(), 'vitkit-fuzz-hub-'));
        const cacheDir = join(sandbox, 'cache');
        const settings: HubSettings = {
          endpoint: hub.origin,
          cacheDir,
          revision: 'main',
          offline: false,
          token: TOKEN,
          etagTimeoutMs: TIMEOUT_MS,
          downloadTimeoutMs: TIMEOUT_MS,
          retryBaseMs: 1,
        };
        try {
          let path: string | undefined;
          const code = await rejectionCodeOf(
            hubFile(REPO, file, settings, optional).then((p) => {
              path = p;
            }),
          );
          if (code === undefined && path !== undefined) {
            // A returned file is whole: the blob it links to hashes to its name (the etag the Hub announced).
            const etag = basename(realpathSync(path));
            const bytes = new Uint8Array(readFileSync(path));
            if (/^[0-9a-f]{64}$/.test(etag)) expect(sha256(bytes)).toBe(etag);
            if (/^[0-9a-f]{40}$/.test(etag)) expect(gitSha1(bytes)).toBe(etag);
          }
          expect(other.requests.filter((r) => r.headers.authorization !== undefined)).toEqual([]);
          expect(process.memoryUsage().rss / 2 ** 20).toBeLessThan(RSS_BOUND_MB);
          const base = resolve(sandbox, 'cache') + sep;
          expect((await everything(sandbox)).filter((p) => p !== resolve(cacheDir) && !p.startsWith(base))).toEqual([]);
        } finally {
          await rm(sandbox, { recursive: true, force: true });
        }
      }),
      { numRuns: fuzzRuns(250), timeout: 10_000 },
    );
  });

  it('browser loader: files or a VitkitError; no token to the other origin', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ steps }) => {
        // The browser loader sends GETs only: drop the HEAD a Node download starts with.
        script = steps.slice(1);
        served = 0;
        other.requests.length = 0;
        await rejectionCodeOf(
          loadPretrainedBrowser(REPO, { endpoint: hub.origin, token: TOKEN, downloadTimeoutMs: TIMEOUT_MS, browserCache: false }),
        );
        expect(other.requests.filter((r) => r.headers.authorization !== undefined)).toEqual([]);
        expect(process.memoryUsage().rss / 2 ** 20).toBeLessThan(RSS_BOUND_MB);
      }),
      { numRuns: fuzzRuns(150), timeout: 10_000 },
    );
  });
});
