import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isVitkitError } from '../errors/vitkit-error.js';
import { RepoCache } from './cache-layout.js';
import { encodeRepoPath, repoFileProblem, repoIdProblem, revisionProblem } from './repo-paths.js';

describe('repo id, revision and file name rules', () => {
  it('repo ids: huggingface_hub validate_repo_id', () => {
    for (const id of ['gpt2', 'facebook/dinov2-small', 'org/model.v1_2', '_x/y', '123']) expect(repoIdProblem(id), id).toBeUndefined();
    for (const id of ['', 'a/b/c', '../x', 'org/..', 'org/a..b', 'org--x/y', 'x.git', '.x', 'x-', 'org/-x', 'a b', `o/${'n'.repeat(97)}`]) {
      expect(repoIdProblem(id), id).toBeDefined();
    }
  });

  it('revisions: git ref names, commit ids', () => {
    for (const r of ['main', 'v1.0', 'refs/pr/3', 'refs/convert/parquet', 'a'.repeat(40), 'abc1234', 'release_2024-01']) {
      expect(revisionProblem(r), r).toBeUndefined();
    }
    for (const r of [
      '',
      '..',
      '../x',
      'a/../b',
      '/a',
      'a/',
      'a//b',
      'a\\b',
      'a b',
      'a\tb',
      'x.lock',
      '.x',
      'a/.b',
      'x.',
      '@',
      'a@{1}',
      'a:b',
      'a~1',
      'a^',
      'a?',
      'a*',
      'a[',
    ]) {
      expect(revisionProblem(r), JSON.stringify(r)).toBeDefined();
    }
  });

  it('file names: relative paths of plain names, also after percent-decoding', () => {
    for (const f of ['config.json', 'onnx/model.onnx', 'model-00001-of-00002.safetensors', '100%.json', 'a%zz']) {
      expect(repoFileProblem(f), f).toBeUndefined();
    }
    for (const f of [
      '',
      '..',
      '../x',
      'a/../b',
      'a..b',
      '/x',
      'a\\b',
      'C:x',
      'https://h/x',
      'a//b',
      './a',
      'a/.',
      'a\u0000',
      '%2e%2e/x',
      '%2E%2E',
      'a%2f..%2fb',
      '%5c',
      42,
      null,
    ]) {
      expect(repoFileProblem(f), JSON.stringify(f)).toBeDefined();
    }
  });

  it('URL paths encode each name, so the server sees exactly it', () => {
    expect(encodeRepoPath('onnx/model.onnx')).toBe('onnx/model.onnx');
    expect(encodeRepoPath('a b/%2e?#')).toBe('a%20b/%252e%3F%23');
    expect(new URL(`http://h/r/${encodeRepoPath('100%.json')}`).pathname).toBe('/r/100%25.json');
  });
});

describe('RepoCache paths', () => {
  it('never resolve outside the cache root, whatever the parts', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vitkit-cache-paths-'));
    try {
      const cache = new RepoCache(root, 'org/name');
      const commit = 'a'.repeat(40);
      const attempts: (() => string)[] = [
        () => cache.pointerPath(commit, '../../../../escape'),
        () => cache.pointerPath('../../..', 'x'),
        () => cache.blobPath('../../../escape'),
        () => cache.lockPath('../../../../escape'),
        () => cache.snapshotDir('../../../escape'),
      ];
      for (const attempt of attempts) {
        let error: unknown;
        try {
          attempt();
        } catch (e) {
          error = e;
        }
        expect(isVitkitError(error, 'INVALID_ARGUMENT'), String(attempt)).toBe(true);
      }
      for (const path of [cache.pointerPath(commit, 'a/b.json'), cache.blobPath('abc'), cache.lockPath('abc')]) {
        expect(path.startsWith(resolve(root) + sep)).toBe(true);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
