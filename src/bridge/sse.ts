// Reading Server-Sent Events from a fetch body, as the HTML standard describes the format:
// lines ending in LF, CR or CRLF; a blank line ends a message; `:` starts a comment; `id`,
// `event` and `data` fields (`retry` is left to the caller's own backoff), the first space after
// the colon dropped.

export interface SseMessage {
  /** The id field of this message, when it had one. */
  id?: string;
  event?: string;
  /** Undefined for a message with no data (an id-only event). */
  data?: string;
}

/** A message per blank-line-terminated block; comments only call onActivity. */
export async function* sseMessages(
  body: AsyncIterable<Uint8Array>,
  onActivity: () => void = () => {},
): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buffer = '';
  let current: SseMessage = {};
  let hasField = false;
  const take = function* (atEnd: boolean): Generator<SseMessage> {
    for (;;) {
      const end = buffer.search(/\r\n|\r|\n/);
      if (end < 0) return;
      // A CR at the very end may be the first half of a CRLF still in flight.
      if (!atEnd && buffer[end] === '\r' && end === buffer.length - 1) return;
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + (buffer.startsWith('\r\n', end) ? 2 : 1));
      if (line === '') {
        if (hasField) yield current;
        current = {};
        hasField = false;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') {
        current.data = current.data === undefined ? value : `${current.data}\n${value}`;
        hasField = true;
      } else if (field === 'id' && !value.includes('\0')) {
        current.id = value;
        hasField = true;
      } else if (field === 'event') {
        current.event = value;
        hasField = true;
      }
    }
  };
  for await (const chunk of body) {
    onActivity();
    buffer += decoder.decode(chunk, { stream: true });
    yield* take(false);
  }
  // At the end, a final CR ends its line; a message without its blank line is dropped.
  buffer += decoder.decode();
  yield* take(true);
}
