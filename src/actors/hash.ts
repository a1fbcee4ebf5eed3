// The hashes that must agree everywhere (every thread, every node, every run): FNV-1a over a
// string, and the rendezvous score that picks one owner among several for a key (the highest
// wins; adding an owner moves only about 1/n of the keys to it).

/** FNV-1a over a string's UTF-16 code units, as an unsigned 32-bit number. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A well-mixed 32-bit score of (key, owner): the owner with the highest score owns the key. */
export function score(keyHash: number, ownerSeed: number): number {
  let h = (keyHash ^ ownerSeed) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
