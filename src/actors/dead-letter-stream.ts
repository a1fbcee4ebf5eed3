// system.deadLetters: every dead letter, on the main thread, to listeners (subscribe) and to
// async iterators (for await). Workers forward their letters only while someone listens, so an
// iterator subscribes from its first next(), not before, and lets go on break or return(). Each
// iterator keeps its own buffer of what arrived between two reads; all of them end once the
// system has shut down, after the letters they hold.

import { Queue } from '../runtime/queue.js';
import type { DeadLetter } from './types.js';

export interface DeadLetterStream extends AsyncIterable<DeadLetter> {
  /** Calls `listener` for every dead letter from now on; returns the unsubscribe function. */
  subscribe(listener: (letter: DeadLetter) => void): () => void;
  /**
   * A new, independent iterator: subscribed from its first next(), unsubscribed by return()
   * (`break`), done once the system has shut down and what it holds has been read.
   */
  [Symbol.asyncIterator](): AsyncIterator<DeadLetter, undefined>;
}

/** The stream and its listeners: the system hands each dead letter to deliver(). */
export class DeadLetterFeed implements DeadLetterStream {
  readonly #listeners = new Set<(letter: DeadLetter) => void>();
  /** Tells the node whether anyone listens (workers then forward their letters). */
  readonly #watch: (on: boolean) => void;
  /** Iterators reading now, ended at shutdown. */
  readonly #readers = new Set<LetterReader>();
  #ended = false;

  constructor(watch: (on: boolean) => void, shutDown: Promise<unknown>) {
    this.#watch = watch;
    void shutDown.then(() => {
      this.#ended = true;
      for (const reader of this.#readers) reader.end();
    });
  }

  subscribe(listener: (letter: DeadLetter) => void): () => void {
    this.#listeners.add(listener);
    this.#watch(true);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#watch(false);
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<DeadLetter, undefined> {
    return new LetterReader(this);
  }

  /** Hands `letter` to every listener; one that throws does not keep it from the others. */
  deliver(letter: DeadLetter): void {
    for (const listener of this.#listeners) {
      try {
        listener(letter);
      } catch {
        // A failing subscriber must not break delivery to the others.
      }
    }
  }

  /** LetterReader: starts listening for `reader`, or says the stream has ended (false). */
  open(reader: LetterReader): boolean {
    if (this.#ended) return false;
    this.#readers.add(reader);
    return true;
  }

  /** LetterReader: `reader` is done. */
  close(reader: LetterReader): void {
    this.#readers.delete(reader);
  }
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** One iterator over the feed: a buffer of letters not read yet, and the reads waiting for one. */
class LetterReader implements AsyncIterator<DeadLetter, undefined> {
  readonly #feed: DeadLetterFeed;
  readonly #letters = new Queue<DeadLetter>();
  /** next() calls made before a letter was there to give them, oldest first. */
  readonly #reads = new Queue<(result: IteratorResult<DeadLetter, undefined>) => void>();
  #state: 'new' | 'reading' | 'ended' = 'new';
  #unsubscribe: (() => void) | null = null;

  constructor(feed: DeadLetterFeed) {
    this.#feed = feed;
  }

  next(): Promise<IteratorResult<DeadLetter, undefined>> {
    if (this.#state === 'new') this.#start();
    const letter = this.#letters.shift();
    if (letter !== undefined) return Promise.resolve({ done: false, value: letter });
    if (this.#state === 'ended') return Promise.resolve(DONE);
    return new Promise((resolve) => this.#reads.push(resolve));
  }

  /** `break` out of a for-await loop calls this: it stops listening and drops what it holds. */
  return(): Promise<IteratorResult<DeadLetter, undefined>> {
    this.end();
    this.#letters.drain();
    return Promise.resolve(DONE);
  }

  /** Stops listening; reads waiting now are done (letters held stay readable). */
  end(): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#feed.close(this);
    for (let read = this.#reads.shift(); read !== undefined; read = this.#reads.shift()) read(DONE);
  }

  #start(): void {
    if (!this.#feed.open(this)) {
      this.#state = 'ended';
      return;
    }
    this.#state = 'reading';
    this.#unsubscribe = this.#feed.subscribe((letter) => {
      const read = this.#reads.shift();
      if (read !== undefined) read({ done: false, value: letter });
      else this.#letters.push(letter);
    });
  }
}
