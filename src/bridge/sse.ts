import { createParser } from 'eventsource-parser';

// Server-Sent Events from a fetch body, parsed by eventsource-parser (the format's line ends,
// comments, fields and multi-line data are its business). What the bridge adds: id-only events
// are messages too, since they move the stream's position (the 2025-era push stream marks its
// head with one), `retry` is left to the bridge's own backoff, and a message is bounded.

/** One message larger than this ends the stream: no server of ours sends one. */
export const MAX_SSE_MESSAGE_CHARS = 16 * 1024 * 1024;

export interface SseMessage {
  /** The id field of this message, when it had one. */
  id?: string;
  event?: string;
  /** Undefined for a message with no data (an id-only event). */
  data?: string;
}

export class SseTooLarge extends Error {}

/** A message per blank-line-terminated block; comments only call onActivity. */
export async function* sseMessages(
  body: AsyncIterable<Uint8Array>,
  onActivity: () => void = () => {},
): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  const ready: SseMessage[] = [];
  // The parser reports a block's id (onId) just before its event, if it has data: the two
  // become one message.
  let idOnly = false;
  let failure: Error | undefined;
  const parser = createParser({
    maxBufferSize: MAX_SSE_MESSAGE_CHARS,
    onId(id) {
      ready.push({ id });
      idOnly = true;
    },
    onEvent({ id, event, data }) {
      const message = {
        ...(id !== undefined ? { id } : {}),
        ...(event !== undefined ? { event } : {}),
        data,
      };
      if (idOnly && id !== undefined) ready[ready.length - 1] = message;
      else ready.push(message);
      idOnly = false;
    },
    onError(err) {
      if (err.type === 'max-buffer-size-exceeded') {
        failure = new SseTooLarge(
          `an event stream message exceeded ${MAX_SSE_MESSAGE_CHARS} characters`,
        );
      }
    },
  });
  for await (const chunk of body) {
    onActivity();
    parser.feed(decoder.decode(chunk, { stream: true }));
    if (failure) throw failure;
    yield* ready.splice(0);
  }
  // A final CR ends its line; a message without its blank line is dropped.
  parser.feed(decoder.decode());
  parser.reset({ consume: true });
  yield* ready.splice(0);
}
