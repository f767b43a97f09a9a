import { field } from './client.mjs';
import { oneLine } from './text.mjs';

// The lease guard (spec §11): the paths a commit touches, checked against others' live leases
// with check_paths. Only an exclusive lease refuses: a shared one says others work there too.

const PER_CALL = 1000;
/** What check_paths cannot take as a concrete path; such paths go unchecked and are noted. */
const UNCHECKABLE = /[*?\\\u0000-\u001f\u007f-\u009f\ufffd]|^lane:|^\//;

function until(expiresAt, now = Date.now()) {
  const seconds = Math.round((Date.parse(expiresAt) - now) / 1000);
  if (!Number.isFinite(seconds)) return expiresAt;
  const left =
    seconds < 90
      ? `${Math.max(seconds, 0)} s`
      : seconds < 5400
        ? `${Math.round(seconds / 60)} min`
        : `${Math.round(seconds / 3600)} h`;
  return `${expiresAt} (in ${left})`;
}

/**
 * Resolves to {conflicts: [{path, leases}], unchecked: [path]}, listing for each refused path the
 * exclusive leases of others that cover it.
 */
export async function guardPaths(api, paths) {
  const checkable = paths.filter((p) => p.length <= 512 && !UNCHECKABLE.test(p));
  const unchecked = paths.filter((p) => !checkable.includes(p));
  const conflicts = [];
  for (let i = 0; i < checkable.length; i += PER_CALL) {
    const r = await api.call('check_paths', { paths: checkable.slice(i, i + PER_CALL) });
    for (const entry of field(r.body, 'paths', 'array', 'check_paths')) {
      const leases = field(entry, 'leases', 'array', 'check_paths').filter(
        (l) => l?.mode === 'exclusive' && typeof l.actor === 'string',
      );
      if (leases.length > 0) conflicts.push({ path: String(entry.path), leases });
    }
  }
  return { conflicts, unchecked };
}

export function describeConflicts(conflicts) {
  return conflicts
    .map(({ path, leases }) => {
      // Names, surfaces and times are the server's text: printable, on one line each.
      const holders = leases
        .map((l) => `${l.actor} (lease \`${l.surface}\`) until ${until(l.expires_at)}`)
        .join('; ');
      return `  ${oneLine(`${path}: held exclusively by ${holders}`)}`;
    })
    .join('\n');
}
