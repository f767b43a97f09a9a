import type { EventBase, NewEvent } from '../../src/db/ledger.js';

// Tests of the ledger's mechanics (seq order, notification, paging) append events of any type
// and shape; production code may append only the closed vocabulary (src/db/event-types.ts).

export interface RawEvent extends EventBase {
  type: string;
  data?: Record<string, unknown>;
}

export const rawEvent = (e: RawEvent): NewEvent => e as unknown as NewEvent;
export const rawEvents = (es: readonly RawEvent[]): NewEvent[] => es.map(rawEvent);
