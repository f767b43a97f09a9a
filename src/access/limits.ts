// The bounds of the administrative acts' inputs, shared by every edge that parses them (the
// tools' zod schemas, the web forms), so both refuse and accept exactly the same values.

export const TOKEN_TTL_DAYS = { min: 1, max: 3650 } as const;
export const INVITE_USES = { min: 1, max: 1000, default: 1 } as const;
export const INVITE_TTL_HOURS = { min: 1, max: 720, default: 24 } as const;
export const LIVENESS_WINDOW_SECONDS = { min: 10, max: 604_800 } as const;
