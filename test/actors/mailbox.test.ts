// The mailbox against a model: seeded interleavings of pushes (any lane, plain tells and
// Envelopes) and takes (shift, and takeTell as the cell's hot loop uses it), through ring growth
// and wrap-around. Highest lane first, FIFO within a lane, length always exact.

import { describe, expect, it } from 'vitest';
import { Envelope, EnvelopeKind } from '../../src/actors/cell/envelope.js';
import { Mailbox, takeMailbox } from '../../src/actors/cell/mailbox.js';
import { seededRandom } from '../support/random.js';

function envelope(seq: number, priority: number): Envelope {
  return new Envelope(EnvelopeKind.Tell, 'm', seq, 0, 0, 0, priority);
}

describe('Mailbox', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`matches a four-lane model (seed ${seed})`, () => {
      const random = seededRandom(seed);
      const mailbox = new Mailbox();
      const model: number[][] = [[], [], [], []];
      let seq = 0;
      for (let step = 0; step < 20_000; step++) {
        // Bursts of pushes then shifts, so the lane-0 ring grows and wraps many times.
        const pushing = random() < (step % 400 < 200 ? 0.7 : 0.3);
        if (pushing) {
          const priority = random() < 0.8 ? 0 : 1 + Math.floor(random() * 3);
          // Half of lane 0 goes in as plain tells (no Envelope), interleaved with Envelopes.
          if (priority === 0 && random() < 0.5) mailbox.pushTell('m', seq, 0, seq + 1, 0);
          else mailbox.push(envelope(seq, priority));
          model[priority]!.push(seq++);
        } else {
          const lane = [3, 2, 1, 0].find((l) => model[l]!.length > 0);
          const expected = lane === undefined ? undefined : model[lane]!.shift();
          // takeTell takes only a plain tell at the head of lane 0 with nothing above it.
          const type = random() < 0.5 ? mailbox.takeTell() : undefined;
          if (type !== undefined) {
            expect(lane).toBe(0);
            expect([type, mailbox.payload, mailbox.senderKey]).toEqual(['m', expected, expected! + 1]);
          } else {
            const env = mailbox.shift();
            expect(env?.payload).toBe(expected);
            if (env !== undefined) expect(env.kind).toBe(EnvelopeKind.Tell);
          }
        }
        expect(mailbox.length).toBe(model.reduce((n, lane) => n + lane.length, 0));
      }
      const rest = mailbox.drain().map((env) => env.payload);
      expect(rest).toEqual([...model[3]!, ...model[2]!, ...model[1]!, ...model[0]!]);
      expect(mailbox.length).toBe(0);
      expect(mailbox.shift()).toBeUndefined();
    });
  }
});

describe('an idle actor holds no mailbox', () => {
  it('an emptied unbounded mailbox is let go, and the next cell that gets a message reuses it, in working order', () => {
    const mailbox = takeMailbox();
    for (let i = 0; i < 5; i++) mailbox.pushTell('m', i, 0, 0, 0);
    expect(mailbox.recycle()).toBe(false); // not empty: kept
    while (mailbox.takeTell() !== undefined);
    expect(mailbox.recycle()).toBe(true);
    const next = takeMailbox();
    expect(next).toBe(mailbox);
    next.pushTell('a', 1, 0, 0, 0);
    next.push(envelope(2, 2));
    expect(next.length).toBe(2);
    expect(next.shift()!.payload).toBe(2); // the higher lane first, as in any mailbox
    expect(next.takeTell()).toBe('a');
    expect(next.length).toBe(0);
  });

  it('a mailbox that grew for a burst stays with its actor (the next burst does not grow one again)', () => {
    const mailbox = takeMailbox();
    for (let i = 0; i < 100; i++) mailbox.pushTell('m', i, 0, 0, 0);
    while (mailbox.takeTell() !== undefined);
    expect(mailbox.recycle()).toBe(false);
  });

  it('a bounded mailbox is kept (it holds its entry in the bounds table)', () => {
    const bounded = new Mailbox(null, -1, 4); // drop-oldest, capacity 4
    expect(bounded.recycle()).toBe(false);
  });
});
