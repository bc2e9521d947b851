/**
 * The byte layout of the shared register: one growable SharedArrayBuffer seen as 32-bit words.
 * docs/register.md draws it and says who writes each word; this file is the one place the
 * offsets live. Every pointer is a word index into the buffer; 0 is null.
 *
 * Changing anything here changes the format: bump {@link FORMAT_VERSION}.
 */

/** 'WEFT' in ASCII, the first word of every register buffer. */
export const MAGIC = 0x57454654;
/** Layout version, checked by `attach`. */
export const FORMAT_VERSION = 1;

/** Header words (indices into the Int32 view). */
export const H = {
  MAGIC: 0,
  FORMAT: 1,
  /** The writer mutex: 0 free, else owner << 2 | 1 (held) | 2 (someone waits). */
  LOCK: 2,
  /** Bumped on every commit and every recovery; validates readers' result caches. */
  VERSION: 3,
  /** Byte length the writer has grown the buffer to (readers refresh their views from it). */
  CAPACITY_BYTES: 4,
  MAX_BYTES: 5,
  /** Bump allocator: first never-allocated word. */
  TOP: 6,
  /** Words in allocated blocks (rounded to their size class). */
  USED_WORDS: 7,
  SUB_COUNT: 8,
  MAX_SUBS: 9,
  NODE_COUNT: 10,
  MAX_LEVELS: 11,
  MAX_OWNERS: 12,
  ROOT: 13,
  EDGE_TABLE: 14,
  EDGE_CAP: 15,
  EDGE_COUNT: 16,
  SESSION_TABLE: 17,
  SESSION_CAP: 18,
  SESSION_COUNT: 19,
  GROUP_COUNT: 20,
  /** Entries in the undo log of the write in progress; 0 when no write is half-done. */
  UNDO_COUNT: 21,
  UNDO_CAP: 22,
  UNDO_BASE: 23,
  READERS_BASE: 24,
  FREE_BASE: 25,
  HEAP_BASE: 26,
  /** Random id chosen at creation: tells registers apart within one thread. */
  REGISTER_ID: 27,
} as const;

/** Words reserved for the fixed header fields above. */
export const HEADER_WORDS = 32;

/** Allocator size classes: 16 classes of 4..64 words in steps of 4, then powers of two. */
export const SIZE_CLASSES = 44;

/** A reader slot per owner, each on its own 64-byte line so readers do not share lines. */
export const READER_STRIDE = 16;

/** Undo log entries (word index, old value) a single write may log. */
export const UNDO_ENTRIES = 4096;

/** Trie node: fixed fields, then the level's UTF-16 code units, two per word. */
export const N = {
  PARENT: 0,
  /** level length in code units (low 16 bits) | kind << 16 */
  META: 1,
  HASH: 2,
  PLUS: 3,
  HASH_CHILD: 4,
  /** exact edges + `+` child + `#` child: the node is pruned when this and both lists are empty */
  CHILDREN: 5,
  /** subscription vector of the ordinary subscriptions ending here, or 0 */
  SUBS: 6,
  /** first shared group on this filter, or 0 */
  GROUPS: 7,
  UNITS: 8,
} as const;

export const KIND_EXACT = 0;
export const KIND_PLUS = 1;
export const KIND_HASH = 2;
export const KIND_ROOT = 3;

/**
 * Subscription record: where the subscription sits (its owner's vector and slot) and its links
 * in the session's list. Its options live in the vector entry, next to its session id, so a
 * match reads one contiguous run per node.
 */
export const S = {
  SESSION: 0,
  /** the node (ordinary subscription) or group (shared) whose vector holds the entry */
  OWNER: 1,
  /** slot of the entry in the owner's vector */
  INDEX: 2,
  /** FLAG_SHARED when OWNER is a group */
  KIND: 3,
  SESSION_PREV: 4,
  SESSION_NEXT: 5,
  WORDS: 6,
} as const;

/**
 * Subscription vector, one per node (ordinary subscriptions) and per group (members):
 * `[count, capacity, stamp, entries...]`, each entry {@link V} wide. Removal moves the last entry into
 * the hole, so entries stay dense.
 */
export const VEC_COUNT = 0;
export const VEC_CAP = 1;
/**
 * The register VERSION of the commit that last changed this vector. A block freed and
 * reused later gets a later stamp, so (vector, stamp) names one content: readers key their
 * thread-local delivery lists by it.
 */
export const VEC_STAMP = 2;
export const VEC_HEAD = 3;
export const V = {
  SESSION: 0,
  /** qos (bits 0-1) | noLocal (2) | retainAsPublished (3) | retainHandling (4-5) | hasId (6) | multi (8) */
  FLAGS: 1,
  ID: 2,
  /** the subscription record, to update its INDEX when the entry moves */
  RECORD: 3,
  WORDS: 4,
} as const;

export const FLAG_NO_LOCAL = 1 << 2;
export const FLAG_RAP = 1 << 3;
export const FLAG_HAS_ID = 1 << 6;
export const FLAG_SHARED = 1 << 7;
/**
 * Set on every ordinary entry of a session holding more than one ordinary subscription. A match
 * folds only such entries by session; an entry without it is its session's only ordinary
 * subscription, so it becomes a delivery directly.
 */
export const FLAG_MULTI = 1 << 8;

/** Shared-subscription group record: fixed fields, then the ShareName's code units. */
export const G = {
  NODE: 0,
  PREV: 1,
  NEXT: 2,
  /** subscription vector of the members (never empty while the group exists) */
  MEMBERS: 3,
  /** unused, kept zero */
  RESERVED: 4,
  /** round-robin cursor, advanced by readers with Atomics.add */
  CURSOR: 5,
  LENGTH: 6,
  HASH: 7,
  UNITS: 8,
} as const;

/** Edge table entry: (parent, level hash) → child. parent 0 marks an empty slot. */
export const EDGE_WORDS = 3;
/** Session table entry: session id → head of its subscription list. session 0 is empty. */
export const SESSION_WORDS = 2;

/** Words a block of size class `c` holds. */
export function classWords(c: number): number {
  return c < 16 ? (c + 1) * 4 : 2 ** (c - 16 + 7);
}

/** Smallest size class holding `words`. */
export function sizeClass(words: number): number {
  if (words <= 64) return Math.max(0, Math.ceil(words / 4) - 1);
  return 16 + Math.ceil(Math.log2(words)) - 7;
}

/** FNV-1a over a string's UTF-16 code units `from .. to`. */
export function hashUnits(s: string, from: number, to: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = from; i < to; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/** Mixes a parent pointer and a level hash into an edge-table home slot hash. */
export function edgeHash(parent: number, levelHash: number): number {
  let h = Math.imul(parent, 0x9e3779b1) ^ levelHash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h;
}

/** Spreads a session id over the session table. */
export function sessionHash(session: number): number {
  let h = Math.imul(session, 0x9e3779b1);
  h ^= h >>> 15;
  return h;
}
