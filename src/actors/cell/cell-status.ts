// An actor's life as its cell runs it: 'starting' (init and onStart), 'running', 'restarting'
// (after a failure, possibly waiting out a backoff), 'suspended' (failed under a supervising
// parent, or halted by it, until its directive), 'stopping' (onStop, children first), 'stopped'.
// 'moving' (on its way to another thread: messages wait, nothing runs) and 'moved' (the cell it
// left behind: a ref that held it looks the actor up again, node/moves.ts).
// Messages wait in the mailbox in every state but the last three, and run only while 'running'.

export type CellStatus = 'starting' | 'running' | 'restarting' | 'suspended' | 'moving' | 'stopping' | 'stopped' | 'moved';

/** Every status, in the order a cell keeps them as small numbers (cell.ts flags): the last three take no message. */
export const CELL_STATUSES: readonly CellStatus[] = ['starting', 'running', 'restarting', 'suspended', 'moving', 'stopping', 'stopped', 'moved'];
