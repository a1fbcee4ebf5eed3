// Links, as in Erlang: two linked actors share their fate. When one ends, the other gets an exit
// signal in its mailbox, in order behind what the first sent it; an abnormal exit fails the
// receiver unless it traps exits (then onExit runs). A link is used up by the exit it carries.

import { checkLocalRef } from '../remote-ref.js';
import type { ActorRefImpl } from '../actor-ref.js';
import type { Cell } from '../cell/cell.js';
import { Envelope, EnvelopeKind, type TerminatedNotice } from '../cell/envelope.js';
import type { NodeCore } from './node-core.js';
import type { ExitReason } from '../types.js';

export class Links {
  readonly #node: NodeCore;

  constructor(node: NodeCore) {
    this.#node = node;
  }

  link(cell: Cell, ref: ActorRefImpl): void {
    checkLocalRef(ref, 'link(ref)');
    if (ref.key === cell.key || cell.links?.has(ref.key)) return;
    (cell.links ??= new Map()).set(ref.key, ref);
    const node = this.#node;
    if (node.isDead(ref.thread)) {
      this.received(cell, ref.thread, ref.key, 'thread-exit');
      return;
    }
    if (ref.thread !== node.self) {
      node.control(ref.thread, ['link', ref.key, cell.key]);
      return;
    }
    const peer = node.cells.get(ref.key);
    if (peer === undefined || peer.ending) this.received(cell, ref.thread, ref.key, 'noproc');
    else (peer.links ??= new Map()).set(cell.key, cell.self);
  }

  unlink(cell: Cell, ref: ActorRefImpl): void {
    checkLocalRef(ref, 'unlink(ref)');
    if (cell.links?.delete(ref.key) !== true) return;
    const node = this.#node;
    if (ref.thread === node.self) node.cells.get(ref.key)?.links?.delete(cell.key);
    else node.control(ref.thread, ['unlink', ref.key, cell.key]);
  }

  /** `cell` failed or ended: each linked actor gets the exit, and the link is used up. */
  signal(cell: Cell, reason: ExitReason): void {
    const links = cell.links;
    if (links === null || links.size === 0) return;
    cell.links = null;
    const node = this.#node;
    for (const peer of links.values()) {
      if (peer.thread === node.self) {
        const target = node.cells.get(peer.key);
        if (target === undefined) continue;
        target.links?.delete(cell.key);
        this.received(target, node.self, cell.key, reason);
      } else {
        node.control(peer.thread, ['exit', peer.key, cell.key, reason]);
      }
    }
  }

  /** An exit from a linked actor, in order behind what it sent (a signal in the mailbox). */
  received(cell: Cell, thread: number, key: number, reason: ExitReason): void {
    if (cell.ending) return;
    cell.links?.delete(key);
    const notice: TerminatedNotice = { thread, key, reason };
    cell.enqueue(new Envelope(EnvelopeKind.Exit, 'exit', notice, thread, key, 0));
  }

  /** Thread `thread` died: if `cell` is linked to actors there, it gets their exits. */
  threadDied(cell: Cell, thread: number): void {
    if (cell.links !== null) for (const ref of [...cell.links.values()]) if (ref.thread === thread) this.received(cell, thread, ref.key, 'thread-exit');
  }

  // ---- control records from other threads ------------------------------------------------------

  /** `peerKey` on thread `from` links to `targetKey` here. */
  onLink(from: number, targetKey: number, peerKey: number): void {
    const node = this.#node;
    const target = node.cells.get(targetKey);
    if (target === undefined || target.ending) node.control(from, ['exit', peerKey, targetKey, 'noproc']);
    else (target.links ??= new Map()).set(peerKey, node.refFor(from, peerKey));
  }

  onUnlink(targetKey: number, peerKey: number): void {
    this.#node.cells.get(targetKey)?.links?.delete(peerKey);
  }

  /** `exitedKey` on thread `from`, linked to `linkedKey` here, exited. */
  onExit(from: number, linkedKey: number, exitedKey: number, reason: ExitReason): void {
    const linked = this.#node.cells.get(linkedKey);
    if (linked?.links?.has(exitedKey)) this.received(linked, from, exitedKey, reason);
  }
}
