import { describe, expect, it } from 'vitest';
import { sseMessages, type SseMessage } from '../src/bridge/sse.js';

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
});
