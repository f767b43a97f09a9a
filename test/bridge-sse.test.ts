import { describe, expect, it } from 'vitest';
import {
  MAX_SSE_MESSAGE_CHARS,
  SseTooLarge,
  sseMessages,
  type SseMessage,
} from '../src/bridge/sse.js';

// The bridge's SSE reader against the format's corner cases, fed in awkward chunks.

async function parse(chunks: Uint8Array[]): Promise<{ messages: SseMessage[]; activity: number }> {
  async function* body() {
    yield* chunks;
  }
  let activity = 0;
  const messages: SseMessage[] = [];
  for await (const m of sseMessages(body(), () => activity++)) messages.push(m);
  return { messages, activity };
}

const encode = (parts: string[]) => parts.map((p) => new TextEncoder().encode(p));

describe('sseMessages', () => {
  it('reads ids, events, multi-line data, comments and id-only events', async () => {
    const { messages } = await parse(
      encode([
        'retry: 2000\n\n',
        ': keep-alive\n\n',
        'id: 7\n\n',
        'id: 8\nevent: post\ndata: {"a":1}\n\n',
        'data: line one\ndata: line two\n\n',
        'data:no space\n\n',
        'data: never finished\n',
      ]),
    );
    expect(messages).toEqual([
      { id: '7' },
      { id: '8', event: 'post', data: '{"a":1}' },
      { data: 'line one\nline two' },
      { data: 'no space' },
    ]);
  });

  it('handles CRLF and CR line ends and multi-byte text, split at every byte', async () => {
    const bytes = new TextEncoder().encode('id: 1\r\ndata: é😀\r\n\r\nid: 2\rdata: x\r\r');
    const { messages, activity } = await parse([...bytes].map((b) => Uint8Array.of(b)));
    expect(messages).toEqual([
      { id: '1', data: 'é😀' },
      { id: '2', data: 'x' },
    ]);
    expect(activity).toBe(bytes.length);
  });

  it('ends the stream on a message beyond its limit, saying which', async () => {
    const big = 'x'.repeat(1024 * 1024);
    const chunks = ['data: ', ...Array.from({ length: 17 }, () => big), '\n\n'];
    const read = parse(encode(chunks));
    await expect(read).rejects.toBeInstanceOf(SseTooLarge);
    await expect(read).rejects.toThrow(`${MAX_SSE_MESSAGE_CHARS} characters`);
    // Just below the limit, the message arrives whole.
    const fits = await parse(encode(['data: ', ...Array.from({ length: 15 }, () => big), '\n\n']));
    expect(fits.messages[0]?.data?.length).toBe(15 * big.length);
  });
});
