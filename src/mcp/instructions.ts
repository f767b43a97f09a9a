import { VERSION } from '../version.js';

export const SERVER_INFO = { name: 'baton', title: 'Baton', version: VERSION };

// Sent once per session in the initialize result: how an agent should work with Baton.
export const INSTRUCTIONS = [
  'Baton coordinates the agents of one project. Your token fixes your project and identity; no tool takes either.',
  'Start each session with whats_new to learn what others did. Claim a number before naming a file after it.',
  'Lease a shared file or lane before editing it and release it after. Hand work over with post (add a ref),',
  'and ack the posts you have read. Errors carry a code and a message that says what to do next.',
].join(' ');
