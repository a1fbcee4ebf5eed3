import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_REASONS, DEAD_LETTER_SLOT } from '../../src/actors/dead-letter-reasons.js';
import { DL_REASONS } from '../../src/runtime/layout.js';

describe('dead-letter reasons', () => {
  it('give every reason its own counter slot, within the slots the layout keeps', () => {
    expect(DEAD_LETTER_REASONS).toHaveLength(DL_REASONS);
    expect(DEAD_LETTER_REASONS.map((reason) => DEAD_LETTER_SLOT[reason])).toEqual([...Array(DL_REASONS).keys()]);
    expect(DEAD_LETTER_REASONS[0]).toBe('stopped');
    expect(DEAD_LETTER_REASONS.at(-1)).toBe('too-large');
  });
});
