/**
 * What a decoded guest value will cost the host — checked before it is built.
 *
 * Invariant: a value rexec hands to the host costs at most `resultBytes` to
 * hold AND at most `resultBytes` to walk as a tree.
 *
 * Threats closed:
 * - **Shared-reference amplification.** The wire format keeps shared
 *   references (a node referenced twice is one node), so
 *   `x=[1]; for (i=0;i<40;i++) x=[x,x]` is 41 nodes — but every tree walk a
 *   host does (`JSON.stringify`, `util.inspect`, `console.log`, a template of
 *   a nested field, a recursive copy) visits 2^40 of them. So the walk is
 *   simulated here, exactly as a walker that stops at cycles (an ancestor on
 *   its current path) would do it, and its cost is bounded: a shared subtree
 *   counts every time a walk reaches it. Cycles keep working: an edge back to
 *   an ancestor costs one slot, as the walkers that handle cycles print a
 *   marker there. The simulation stops as soon as the bound is passed, so it
 *   costs O(resultBytes) at most.
 * - **Host heap outside the cap.** 8 MiB of wire text can describe an object
 *   with 400k keys that takes ~35 MB of V8 heap. The heap a value will take is
 *   estimated per node from V8's measured costs (dictionary properties ~80
 *   bytes, boxed numbers, string headers, Map entries…; within ~1.5× of
 *   `process.memoryUsage()` on the shapes in test/security/host-amplification)
 *   and bounded by the same limit.
 *
 * The node table has been validated (tags, slot shapes, indices in range)
 * before this runs; nothing here recurses.
 *
 * @packageDocumentation
 */

/** Why a value was refused: which bound it passed. */
export type CostExcess = "walk" | "heap";

/** Cost units per item (bytes, measured on V8 / Node 20; see the file comment). */
export const HEAP = {
  node: 32,
  /**
   * Extra per object: V8 gives an object a dictionary (~170 bytes for one
   * property) instead of in-object fields once the transition tree is crowded
   * — which a guest can arrange with one earlier result of many distinct keys.
   */
  objectExtra: 64,
  /** A property of a small object (in-object or fast properties; keys shared as internalized strings). */
  fastProperty: 16,
  /** Objects with more properties than this are dictionaries whose keys are usually distinct strings. */
  fastPropertiesMax: 64,
  dictionaryProperty: 64,
  arraySlot: 8,
  number: 16,
  /** An array's backing store header. */
  arrayStore: 16,
  stringHeader: 16,
  entry: 40,
  error: 256,
  regexp: 256,
  date: 48,
  view: 96,
  buffer: 64,
  guestFunction: 320,
} as const;

/** Walk units: roughly the bytes `JSON.stringify` writes per item. */
const WALK = {
  node: 2,
  slot: 4,
  constant: 8,
  backEdge: 8,
} as const;

type Node = readonly unknown[];

/**
 * The slot positions of a node's children, `[start, end)`: exactly the
 * positions the decoder validated (a node may carry junk past them — a "d"
 * with extra elements — which is never read).
 */
function childRange(n: Node): [number, number] {
  switch (n[0]) {
    case "a":
      return [2, n.length];
    case "e":
      return [4, n.length];
    case "o":
    case "m":
    case "s":
      return [1, n.length];
    case "v":
    case "d":
      return [1, 2];
    default:
      return [0, 0]; // leaves: n, r, b, t, f
  }
}

function slotWalkCost(slot: unknown): number {
  if (typeof slot === "string") return WALK.slot + slot.length;
  if (Array.isArray(slot)) return (slot[0] as number) < 0 ? WALK.constant : 0;
  return WALK.slot + 4;
}

function slotHeapCost(slot: unknown): number {
  if (typeof slot === "string") return HEAP.stringHeader + slot.length * 2;
  if (typeof slot === "number") return HEAP.number;
  return 0;
}

/** Bytes a node takes on the host once built, excluding the nodes it refers to. */
function nodeHeapCost(n: Node, buffers: readonly Uint8Array[]): number {
  const tag = n[0];
  let cost = HEAP.node;
  switch (tag) {
    case "o":
    case "e": {
      cost += HEAP.objectExtra;
      if (tag === "e") cost += HEAP.error + 2 * ((n[1] as string).length + (n[2] as string).length + (n[3] as string).length);
      const first = tag === "o" ? 1 : 4;
      const dictionary = (n.length - first) / 2 > HEAP.fastPropertiesMax;
      for (let j = first; j < n.length; j += 2) {
        // Keys are counted as if distinct (a guest can make them so); shared ones make this an overestimate.
        cost += slotHeapCost(n[j + 1]) + (dictionary ? HEAP.dictionaryProperty : HEAP.fastProperty) + HEAP.stringHeader + (n[j] as string).length * (dictionary ? 2 : 1);
      }
      return cost;
    }
    case "a":
      cost += HEAP.arrayStore;
      for (let j = 2; j < n.length; j++) cost += HEAP.arraySlot + slotHeapCost(n[j]);
      return cost;
    case "m":
    case "s":
      for (let j = 1; j < n.length; j++) cost += (tag === "m" ? HEAP.entry / 2 : HEAP.entry) + slotHeapCost(n[j]);
      return cost;
    case "n":
      return cost + (n[1] as string).length;
    case "r":
      return cost + HEAP.regexp + 2 * ((n[1] as string).length + (n[2] as string).length);
    case "d":
      return cost + HEAP.date;
    case "b":
      return cost + HEAP.buffer + (buffers[n[1] as number]?.byteLength ?? 0);
    case "t":
      return cost + HEAP.view;
    case "f":
      return cost + HEAP.guestFunction;
    default:
      return cost + slotHeapCost(n[1]);
  }
}

/** Walk units of a node itself, excluding its children's own nodes. */
function nodeWalkCost(n: Node, buffers: readonly Uint8Array[]): number {
  const tag = n[0];
  let cost = WALK.node;
  switch (tag) {
    case "o":
    case "e":
      if (tag === "e") cost += (n[1] as string).length + (n[2] as string).length + (n[3] as string).length;
      for (let j = tag === "o" ? 1 : 4; j < n.length; j += 2) cost += (n[j] as string).length + 3 + slotWalkCost(n[j + 1]);
      return cost;
    case "b":
      return cost + (buffers[n[1] as number]?.byteLength ?? 0);
    case "t":
      // A view's walk prints its elements: as many as its buffer holds at most.
      return cost + (buffers[n[2] as number]?.byteLength ?? 0);
    case "n":
    case "r":
      return cost + (n[1] as string).length;
    default: {
      const [start, end] = childRange(n);
      for (let j = start; j < end; j++) cost += slotWalkCost(n[j]);
      return cost;
    }
  }
}

/** The estimated host heap of a validated node table, in bytes (stops counting past `stopAbove`). */
export function estimateHeap(nodes: readonly Node[], buffers: readonly Uint8Array[], stopAbove = Infinity): number {
  let heap = 0;
  for (let i = 0; i < nodes.length && heap <= stopAbove; i++) heap += nodeHeapCost(nodes[i]!, buffers);
  return heap;
}

/**
 * Check that the validated node table `nodes` (root at 0) stays within
 * `limit` both as held heap and as a tree walk. Returns the bound that was
 * passed, or `undefined` when the value is within both.
 */
export function excessCost(nodes: readonly Node[], buffers: readonly Uint8Array[], limit: number): CostExcess | undefined {
  const count = nodes.length;
  if (estimateHeap(nodes, buffers, limit) > limit) return "heap";
  // Depth-first walk over the table with an explicit stack; `onPath` marks the
  // ancestors of the node being visited (a reference to one is a cycle).
  const onPath = new Uint8Array(count);
  const nodeStack: number[] = [0];
  const childStack: number[] = [childRange(nodes[0]!)[0]];
  onPath[0] = 1;
  let walk = nodeWalkCost(nodes[0]!, buffers);
  while (nodeStack.length > 0) {
    const top = nodeStack.length - 1;
    const index = nodeStack[top]!;
    const node = nodes[index]!;
    const j = childStack[top]!;
    if (j >= childRange(node)[1]) {
      onPath[index] = 0;
      nodeStack.pop();
      childStack.pop();
      continue;
    }
    childStack[top] = j + 1;
    const slot = node[j];
    if (!Array.isArray(slot)) continue;
    const child = slot[0] as number;
    if (child < 0) continue;
    if (onPath[child] === 1) {
      walk += WALK.backEdge;
    } else {
      walk += nodeWalkCost(nodes[child]!, buffers);
      onPath[child] = 1;
      nodeStack.push(child);
      childStack.push(childRange(nodes[child]!)[0]);
    }
    if (walk > limit) return "walk";
  }
  return walk > limit ? "walk" : undefined;
}
