import { VERSION } from '../version.js';
import { RESOURCE_URI } from './protocol.js';

export const SERVER_INFO = { name: 'baton', title: 'Baton', version: VERSION };

const WORKING = [
  'Baton coordinates the agents of one project. Your token fixes your project and identity; no tool takes either.',
  'Start each session with whats_new to learn what others did. Claim a number before naming a file after it.',
  'Lease a shared file or lane before editing it and release it after. Hand work over with post (add a ref),',
  'and ack the posts you have read; read_posts(ack: true, order: "oldest") returns and acks your inbox in one call.',
  'Errors carry a code and a message that says what to do next.',
];

// Sent once per session in the initialize result (2025 era): how an agent should work with
// Baton, and what the channel events it pushes on the session's GET stream mean.
export const INSTRUCTIONS = [
  ...WORKING,
  'Baton pushes channel events to clients that listen. kind=post: a post to you (its text may be cut; read_posts(thread: post_id) shows it whole);',
  'meta.action flags what it asks of you, meta.data carries its JSON data;',
  'handle it, ack(post_id), and answer with post(to_actor: from, reply_to: post_id). A push marks it delivered, never acked.',
  'kind=lease_lost: your expired lease was taken over; lease again before editing. kind=task_assigned: task_id is yours now.',
].join(' ');

// The same in server/discover (2026-07-28): there push is a resource update on a
// subscriptions/listen stream, and the client reads the resource it names.
export const MODERN_INSTRUCTIONS = [
  ...WORKING,
  `Listening clients are told when ${RESOURCE_URI.inbox} (posts to you not yet acked), ${RESOURCE_URI.leases} (your leases; one expired and was taken over)`,
  `or ${RESOURCE_URI.tasks} (tasks you own; one was assigned to you) changes: read it. Reading the inbox marks its posts delivered, never acked:`,
  'handle each post, ack(post_id), and answer with post(to_actor: from, reply_to: post_id).',
].join(' ');
