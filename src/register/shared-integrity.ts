/**
 * A full consistency check of a shared register's buffer: every link, count and allocated
 * word accounted for. Tests run it after concurrent work and after dead-owner recovery; it is
 * O(size) and takes no lock, so call it only while no write can run.
 */
import {
  classWords,
  EDGE_WORDS,
  G,
  H,
  KIND_EXACT,
  KIND_HASH,
  KIND_PLUS,
  N,
  S,
  SESSION_WORDS,
  SIZE_CLASSES,
  sizeClass,
  V,
  VEC_CAP,
  VEC_COUNT,
  VEC_HEAD,
  FLAG_SHARED,
  FLAG_MULTI,
} from './shared-layout.js';

/** Returns a description of every inconsistency found in `m` (empty when consistent). */
export function checkIntegrity(m: Int32Array): string[] {
  const problems: string[] = [];
  const fail = (what: string): void => {
    if (problems.length < 50) problems.push(what);
  };
  let used = 0;
  const block = (words: number): void => {
    used += classWords(sizeClass(words));
  };
  if (m[H.UNDO_COUNT] !== 0) fail(`undo log holds ${m[H.UNDO_COUNT]} entries`);
  // edges by parent
  const edgeCap = m[H.EDGE_CAP]!;
  const edges = new Map<number, number[]>();
  let edgeCount = 0;
  for (let i = 0; i < edgeCap; i++) {
    const e = m[H.EDGE_TABLE]! + i * EDGE_WORDS;
    if (m[e] === 0) continue;
    edgeCount++;
    const list = edges.get(m[e]!) ?? [];
    list.push(m[e + 2]!);
    edges.set(m[e]!, list);
    if (m[m[e + 2]! + N.HASH] !== m[e + 1]) fail(`edge ${i} hash differs from its child's`);
  }
  block(edgeCap * EDGE_WORDS);
  if (edgeCount !== m[H.EDGE_COUNT]) fail(`EDGE_COUNT ${m[H.EDGE_COUNT]} but ${edgeCount} edges`);
  const records = new Set<number>();
  let nodes = 0;
  let groups = 0;
  const checkVector = (vec: number, owner: number, shared: boolean): number => {
    const count = m[vec + VEC_COUNT]!;
    const cap = m[vec + VEC_CAP]!;
    if (count <= 0 || count > cap) fail(`vector ${vec}: count ${count}, capacity ${cap}`);
    block(VEC_HEAD + cap * V.WORDS);
    for (let k = 0; k < count; k++) {
      const e = vec + VEC_HEAD + k * V.WORDS;
      const r = m[e + V.RECORD]!;
      if (records.has(r)) fail(`record ${r} in two vectors`);
      records.add(r);
      block(S.WORDS);
      if (m[r + S.OWNER] !== owner || m[r + S.INDEX] !== k || m[r + S.SESSION] !== m[e + V.SESSION]) {
        fail(`record ${r} does not point back to vector ${vec} slot ${k}`);
      }
      if ((m[r + S.KIND] === FLAG_SHARED) !== shared) fail(`record ${r} kind is wrong`);
    }
    return count;
  };
  const root = m[H.ROOT]!;
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    nodes++;
    block(N.UNITS + (((m[node + N.META]! & 0xffff) + 1) >>> 1));
    const children = [...(edges.get(node) ?? [])];
    for (const c of children) if (m[c + N.META]! >>> 16 !== KIND_EXACT) fail(`edge to non-exact node ${c}`);
    if (m[node + N.PLUS] !== 0) {
      children.push(m[node + N.PLUS]!);
      if (m[m[node + N.PLUS]! + N.META]! >>> 16 !== KIND_PLUS) fail(`plus child of ${node} is not '+'`);
    }
    if (m[node + N.HASH_CHILD] !== 0) {
      children.push(m[node + N.HASH_CHILD]!);
      if (m[m[node + N.HASH_CHILD]! + N.META]! >>> 16 !== KIND_HASH) fail(`hash child of ${node} is not '#'`);
    }
    if (children.length !== m[node + N.CHILDREN]) fail(`node ${node}: CHILDREN ${m[node + N.CHILDREN]} but ${children.length}`);
    for (const c of children) {
      if (m[c + N.PARENT] !== node) fail(`node ${c}: parent ${m[c + N.PARENT]} not ${node}`);
      stack.push(c);
    }
    let holds = children.length;
    if (m[node + N.SUBS] !== 0) holds += checkVector(m[node + N.SUBS]!, node, false);
    let prev = 0;
    for (let g = m[node + N.GROUPS]!; g !== 0; g = m[g + G.NEXT]!) {
      groups++;
      holds++;
      block(G.UNITS + ((m[g + G.LENGTH]! + 1) >>> 1));
      if (m[g + G.PREV] !== prev || m[g + G.NODE] !== node) fail(`group ${g} links are wrong`);
      if (m[g + G.MEMBERS] === 0) fail(`group ${g} has no members`);
      else checkVector(m[g + G.MEMBERS]!, g, true);
      prev = g;
    }
    if (node !== root && holds === 0) fail(`node ${node} holds nothing but was not pruned`);
  }
  if (nodes - 1 !== m[H.NODE_COUNT]) fail(`NODE_COUNT ${m[H.NODE_COUNT]} but ${nodes - 1} nodes below the root`);
  if (groups !== m[H.GROUP_COUNT]) fail(`GROUP_COUNT ${m[H.GROUP_COUNT]} but ${groups}`);
  if (records.size !== m[H.SUB_COUNT]) fail(`SUB_COUNT ${m[H.SUB_COUNT]} but ${records.size} entries`);
  // sessions
  const sessionCap = m[H.SESSION_CAP]!;
  block(sessionCap * SESSION_WORDS);
  let sessions = 0;
  let listed = 0;
  for (let i = 0; i < sessionCap; i++) {
    const e = m[H.SESSION_TABLE]! + i * SESSION_WORDS;
    const session = m[e]!;
    if (session === 0) continue;
    sessions++;
    let prev = 0;
    if (m[e + 1] === 0) fail(`session ${session} has an empty list`);
    const ordinary: number[] = [];
    for (let r = m[e + 1]!; r !== 0 && listed <= records.size; r = m[r + S.SESSION_NEXT]!) {
      listed++;
      if (m[r + S.KIND] !== FLAG_SHARED) ordinary.push(r);
      if (!records.has(r)) fail(`session ${session} lists record ${r} that no vector holds`);
      if (m[r + S.SESSION] !== session || m[r + S.SESSION_PREV] !== prev) fail(`record ${r} session links are wrong`);
      prev = r;
    }
    for (const r of ordinary) {
      const entry = m[m[r + S.OWNER]! + N.SUBS]! + VEC_HEAD + m[r + S.INDEX]! * V.WORDS;
      if (((m[entry + V.FLAGS]! & FLAG_MULTI) !== 0) !== ordinary.length > 1) fail(`session ${session}: multi flag wrong on record ${r}`);
    }
  }
  if (sessions !== m[H.SESSION_COUNT]) fail(`SESSION_COUNT ${m[H.SESSION_COUNT]} but ${sessions}`);
  if (listed !== records.size) fail(`session lists hold ${listed} records, vectors ${records.size}`);
  if (used !== m[H.USED_WORDS]) fail(`USED_WORDS ${m[H.USED_WORDS]} but ${used} words reachable`);
  let free = 0;
  for (let c = 0; c < SIZE_CLASSES; c++) {
    let steps = 0;
    for (let b = m[m[H.FREE_BASE]! + c]!; b !== 0 && steps < 1e7; b = m[b]!, steps++) free += classWords(c);
  }
  if (free + used !== m[H.TOP]! - m[H.HEAP_BASE]!) {
    fail(`allocated ${m[H.TOP]! - m[H.HEAP_BASE]!} words: ${used} used + ${free} free`);
  }
  return problems;
}
