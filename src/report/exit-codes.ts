/**
 * The process's exit codes (DESIGN §6), the one place they are defined: commands, the
 * error family, renderers, metrics and logs all read them from here.
 */
export const EXIT = { ok: 0, fatal: 1, partial: 2, refused: 3, interrupted: 130 } as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
