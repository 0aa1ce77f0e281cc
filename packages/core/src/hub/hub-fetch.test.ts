import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdleDeadline, readBodyWithin } from './hub-fetch.js';

/** A response whose body arrives as `chunks`, declaring `contentLength` (or nothing). */
function response(chunks: Uint8Array[], contentLength?: number): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  });
  return new Response(body, contentLength === undefined ? {} : { headers: { 'content-length': String(contentLength) } });
}

describe('readBodyWithin', () => {
  // Every declared length (right, short as a compressed body's, long, absurd, absent) gives back exactly the bytes sent.
  it('returns the bytes sent, whatever length the response declares', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { maxLength: 6 }),
        fc.oneof(fc.constant('exact' as const), fc.constant('none' as const), fc.integer({ min: 1, max: 500 }), fc.constant(2 ** 40)),
        async (chunks, declared) => {
          const total = chunks.reduce((n, c) => n + c.byteLength, 0);
          const length = declared === 'exact' ? total : declared === 'none' ? undefined : declared;
          const deadline = new IdleDeadline(10_000);
          const seen: number[] = [];
          const bytes = await readBodyWithin(response(chunks, length), deadline, (n) => seen.push(n)).finally(() => deadline.stop());
          const expected = new Uint8Array(total);
          let at = 0;
          for (const c of chunks) {
            expected.set(c, at);
            at += c.byteLength;
          }
          expect(bytes).toEqual(expected);
          expect(seen.at(-1) ?? 0).toBe(total);
        },
      ),
      { numRuns: 200 },
    );
  });
});
