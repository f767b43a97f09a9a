import { adminLink } from './admin-link.js';
import type { Verb } from './common.js';
import { connectVerb } from './connect.js';
import { bootstrapOwner, seedTokenVerb } from './identity.js';
import { kitVerb } from './kit.js';
import { migrate } from './migrate.js';
import { exportVerb, importVerb } from './portability.js';
import { pruneVerb } from './prune.js';
import { serve } from './serve.js';

// The one list of `baton` verbs.
export const VERBS: readonly Verb[] = [
  serve,
  migrate,
  bootstrapOwner,
  seedTokenVerb,
  adminLink,
  exportVerb,
  importVerb,
  pruneVerb,
  kitVerb,
  connectVerb,
];
