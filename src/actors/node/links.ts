// Links, as in Erlang: two linked actors share their fate. When one ends, the other gets an exit
// signal in its mailbox, in order behind what the first sent it; an abnormal exit fails the
// receiver unless it traps exits (then onExit runs). A link is used up by the exit it carries.
// Links go with an actor that moves (moves.ts): each record goes where the peer lives now (the
// byte its senders read), and one for an actor on its way to this thread is held until it
// arrives; what reached its old thread before the move's fence went with it.

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
    node.locate(ref);
    if (node.isDead(ref.thread)) {
      this.received(cell, ref.thread, ref.key, 'thread-exit');
      return;
    }
    if (ref.thread !== node.self) {
      node.control(ref.thread, ['link', ref.key, cell.key]);
      return;
    }
    const peer = node.cells.get(ref.key);
    if (peer === undefined && node.expecting(ref.key)) node.arrivals.holdLink(ref.key, cell.key, node.self);
    else if (peer === undefined || peer.ending) this.received(cell, ref.thread, ref.key, 'noproc');
    else (peer.links ??= new Map()).set(cell.key, cell.self);
  }

  unlink(cell: Cell, ref: ActorRefImpl): void {
    checkLocalRef(ref, 'unlink(ref)');
    if (cell.links?.delete(ref.key) !== true) return;
    const node = this.#node;
    if (node.locate(ref) === node.self) this.onUnlink(ref.key, cell.key);
    else node.control(ref.thread, ['unlink', ref.key, cell.key]);
  }

  /** `cell` failed or ended: each linked actor gets the exit, and the link is used up. */
  signal(cell: Cell, reason: ExitReason): void {
    const links = cell.links;
    if (links === null || links.size === 0) return;
    cell.links = null;
    const node = this.#node;
    for (const peer of links.values()) {
      if (node.locate(peer) === node.self) this.onExit(node.self, peer.key, cell.key, reason);
      else node.control(peer.thread, ['exit', peer.key, cell.key, reason]);
    }
  }

  /** An exit from a linked actor, in order behind what it sent (a signal in the mailbox). */
  received(cell: Cell, thread: number, key: number, reason: ExitReason): void {
    if (cell.ending) return;
    cell.links?.delete(key);
    const notice: TerminatedNotice = { thread, key, reason };
    cell.enqueue(new Envelope(EnvelopeKind.Exit, 'exit', notice, thread, key, 0));
  }

  /**
   * Thread `thread` died: if `cell` is linked to actors there, it gets their exits. One that was
   * on its way there is judged once its move settles: undone, it lives on and the link holds.
   */
  threadDied(cell: Cell, thread: number): void {
    if (cell.links === null) return;
    const node = this.#node;
    for (const ref of [...cell.links.values()]) {
      node.whenPlaced(ref, () => {
        if (cell.links?.get(ref.key) === ref && node.locate(ref) === thread) this.received(cell, thread, ref.key, 'thread-exit');
      });
    }
  }

  // ---- control records from other threads ------------------------------------------------------

  /** `peerKey` on thread `from` links to `targetKey` here. */
  onLink(from: number, targetKey: number, peerKey: number): void {
    const node = this.#node;
    const target = node.cells.get(targetKey);
    if (target === undefined && node.expecting(targetKey)) node.arrivals.holdLink(targetKey, peerKey, from);
    else if (target === undefined || target.ending) node.control(from, ['exit', peerKey, targetKey, 'noproc']);
    else (target.links ??= new Map()).set(peerKey, node.refFor(from, peerKey));
  }

  onUnlink(targetKey: number, peerKey: number): void {
    const node = this.#node;
    const target = node.cells.get(targetKey);
    // One on its way here may still bring the link in its record: harmless, as the peer no
    // longer has it, and an exit is taken only by an actor linked to its sender.
    if (target !== undefined) target.links?.delete(peerKey);
    else node.arrivals.unholdLink(targetKey, peerKey);
  }

  /** `exitedKey` on thread `from`, linked to `linkedKey` here, exited. */
  onExit(from: number, linkedKey: number, exitedKey: number, reason: ExitReason): void {
    const node = this.#node;
    const linked = node.cells.get(linkedKey);
    if (linked !== undefined) {
      if (linked.links?.has(exitedKey)) this.received(linked, from, exitedKey, reason);
    } else if (node.expecting(linkedKey)) {
      // On its way here: its links arrive with it, and the exit is taken then if it is linked (moves.ts arrived()).
      node.arrivals.hold(linkedKey, new Envelope(EnvelopeKind.Exit, 'exit', { thread: from, key: exitedKey, reason } satisfies TerminatedNotice, from, exitedKey, 0));
    }
  }

  /**
   * An actor that moved here arrived: `held` is what was held for it meanwhile, in order. Links
   * made with it meanwhile join those it brought; an exit from a peer it is not linked to any
   * more is dropped, one from a peer it is linked to is taken as any other.
   */
  arrived(cell: Cell, held: readonly Envelope[] | undefined, links: ReadonlyMap<number, number> | undefined): Envelope[] | undefined {
    const node = this.#node;
    if (links !== undefined) for (const [peerKey, peerThread] of links) (cell.links ??= new Map()).set(peerKey, node.refFor(peerThread, peerKey));
    if (held === undefined) return undefined;
    const out: Envelope[] = [];
    for (const env of held) {
      if (env.kind !== EnvelopeKind.Exit || cell.links?.delete((env.payload as TerminatedNotice).key) === true) out.push(env);
    }
    return out;
  }
}
