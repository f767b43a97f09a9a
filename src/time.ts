// How a moment reads in the messages people and agents see ("held until 12:03:10Z"): the time
// of day when it is less than a day away, the full UTC date and time beyond. Machine-readable
// fields carry full ISO timestamps instead.

/** "12:03:10Z" within a day, "2025-01-31T12:03:10Z" beyond. */
export function clock(at: Date, inSeconds: number): string {
  const iso = at.toISOString();
  return inSeconds < 86_400 ? `${iso.slice(11, 19)}Z` : `${iso.slice(0, 19)}Z`;
}
