// An actor's life as its cell runs it: 'starting' (init and onStart), 'running', 'restarting'
// (after a failure, possibly waiting out a backoff), 'suspended' (failed under a supervising
// parent, or halted by it, until its directive), 'stopping' (onStop, children first), 'stopped'.
// Messages wait in the mailbox in every state but the last two, and run only while 'running'.

export type CellStatus = 'starting' | 'running' | 'restarting' | 'suspended' | 'stopping' | 'stopped';

/** Every status, in the order a cell keeps them as small numbers (cell.ts flags). */
export const CELL_STATUSES: readonly CellStatus[] = ['starting', 'running', 'restarting', 'suspended', 'stopping', 'stopped'];
