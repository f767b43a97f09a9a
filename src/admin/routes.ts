import { ACCESS_ROUTES } from './access.js';
import { boardPage } from './board.js';
import { boardEvents } from './board-stream.js';
import { INBOX_ROUTES } from './inbox.js';
import { LEDGER_ROUTES } from './ledger.js';
import { LOGIN_ROUTES } from './login.js';
import { PARTICIPANT_ROUTES } from './participants.js';
import { PROJECT_ROUTES } from './projects.js';
import { ownerGet, type Route } from './types.js';

// The one list of admin routes. Every `:name` in a path is a numeric id, and every route that
// takes one answers 404 for another owner's id (test/web-isolation.test.ts walks this list).
export const ROUTES: readonly Route[] = [
  ...LOGIN_ROUTES,
  ...PROJECT_ROUTES,
  ...ACCESS_ROUTES,
  ...PARTICIPANT_ROUTES,
  ...LEDGER_ROUTES,
  ownerGet('/admin/projects/:project/board', boardPage),
  ownerGet('/admin/projects/:project/board/events', boardEvents, { stream: true }),
  ...INBOX_ROUTES,
];
