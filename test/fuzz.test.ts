import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_STATUS } from '../src/errors.js';
import { getCatalogue } from '../src/main.js';
import { useTestBaton } from './helpers/baton.js';
import { argsArbitrary, type JsonSchema } from './helpers/schema-args.js';

// Property-based fuzzing of every tool's input: whatever arrives, the answer is a result or a
// clear domain error, never `internal`, never a stack trace.

const baton = useTestBaton({ env: { BATON_RATE_LIMIT: '0' } });
const tools = (
  JSON.parse(getCatalogue().listJson.full) as { tools: { name: string; inputSchema: JsonSchema }[] }
).tools;
const CODES = new Set(Object.keys(ERROR_STATUS));
// 300 runs per tool by default; `npm run fuzz` runs 5,000.
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

describe('fuzzing every tool', () => {
  it.each(tools.map((t) => [t.name, t.inputSchema] as const))(
    '%s never fails with internal or a stack trace',
    { timeout: 300_000 },
    async (name, schema) => {
      const seeded = await baton.seed({
        projectSlug: `fuzz-${name.replace(/_/g, '-')}`,
        label: 'fuzzer',
        admin: true,
      });
      await fc.assert(
        fc.asyncProperty(argsArbitrary(schema), async (generated) => {
          // A valid wait would only make the fuzzer sleep; every other value is sent as generated.
          const args = { ...generated };
          if (
            typeof args.wait_seconds === 'number' &&
            args.wait_seconds > 0 &&
            args.wait_seconds <= 60
          )
            args.wait_seconds = 0;
          const res = await fetch(`${baton.baseUrl}/api/v1/tools/${name}`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${seeded.token}`,
              'content-type': 'application/json',
            },
            body: JSON.stringify(args),
          });
          const text = await res.text();
          expect(res.status, text).not.toBe(500);
          expect(text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
          const body = JSON.parse(text) as { error?: { code: string; message: string } };
          if (res.status !== 200) {
            if (res.status === 401) return; // the fuzzer rotated or revoked its own token
            expect(CODES.has(body.error?.code ?? ''), text).toBe(true);
            expect(body.error?.code).not.toBe('internal');
            expect(body.error?.message.length).toBeGreaterThan(0);
          }
        }),
        { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 20261121) },
      );
    },
  );
});
