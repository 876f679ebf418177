/**
 * What a value decoded from binary JSON costs the host: the same two bounds
 * as the old codec's decode-cost.ts, with the same per-item units, so one
 * `resultBytes` means the same thing on both paths.
 *
 * Invariant: a value rexec hands to the host costs at most `resultBytes` to
 * hold (checked while it is built, so building stops at the bound) AND at
 * most `resultBytes` to walk as a tree (a shared reference counts every time
 * a walk reaches it; an edge back to an ancestor costs one slot, as walkers
 * that stop at cycles print a marker there) — checked over the recorded
 * object graph before the value is returned. Nothing here recurses.
 *
 * @packageDocumentation
 */
import { MemoryLimitError } from "../../host/errors.js";
import { HEAP as JSON_HEAP } from "../decode-cost.js";

/**
 * Heap units (bytes on V8 / Node 20): decode-cost.ts's, so one `resultBytes`
 * means the same on both paths, except `objectExtra`, 16 more: objects built
 * key by key here with distinct keys each (a crowded transition tree)
 * measured 1.66 × the estimate at the bound in CI, over the 1.6 the suite
 * allows. Map and Set entries are costed per slot here.
 */
export const HEAP = { ...JSON_HEAP, objectExtra: JSON_HEAP.objectExtra + 16, mapSlot: 20, setSlot: 40 } as const;

/** Walk units (roughly what JSON.stringify writes), as in decode-cost.ts. */
export const WALK = { node: 2, slot: 4, constant: 8, backEdge: 8, number: 8 } as const;

const HEAP_DETAIL = " as host memory (estimated for the objects the host would hold)";
const WALK_DETAIL = " when walked as a tree (a shared reference counts every time a walk such as JSON.stringify or util.inspect reaches it)";

/** Records costs and the object graph while a value is decoded. */
export class CostMeter {
  heap = 0;
  /** Own walk cost per object (by reference number). */
  readonly walkSelf: number[] = [];
  /** Child edges, as parallel lists: parent and child reference numbers, in stream order. */
  private readonly edgeFrom: number[] = [];
  private readonly edgeTo: number[] = [];

  constructor(private readonly limit: number) {}

  /** Add host heap; throws once past the limit, so building stops there. */
  addHeap(bytes: number): void {
    this.heap += bytes;
    if (this.heap > this.limit) throw new MemoryLimitError("resultBytes", this.limit, HEAP_DETAIL);
  }

  /** Add walk units to object `node`'s own cost. */
  addWalk(node: number, units: number): void {
    this.walkSelf[node] = (this.walkSelf[node] ?? 0) + units;
  }

  edge(parent: number, child: number): void {
    this.edgeFrom.push(parent);
    this.edgeTo.push(child);
  }

  /**
   * Simulate a depth-first walk from object `root` (reference 0) that stops
   * at ancestors, exactly as decode-cost.ts's excessCost does; throws past
   * the limit. O(limit) at most: it stops as soon as the bound is passed.
   */
  checkWalk(rootWalk: number): void {
    const count = this.walkSelf.length;
    if (count === 0) return;
    // Children per node, in order (counting sort of the edge list by parent).
    const start = new Int32Array(count + 1);
    for (const from of this.edgeFrom) start[from + 1]!++;
    for (let i = 0; i < count; i++) start[i + 1]! += start[i]!;
    const children = new Int32Array(this.edgeFrom.length);
    const fill = start.slice(0, count);
    for (let e = 0; e < this.edgeFrom.length; e++) children[fill[this.edgeFrom[e]!]!++] = this.edgeTo[e]!;
    const onPath = new Uint8Array(count);
    const nodeStack: number[] = [0];
    const nextChild: number[] = [start[0]!];
    onPath[0] = 1;
    let walk = rootWalk + (this.walkSelf[0] ?? 0);
    if (walk > this.limit) throw new MemoryLimitError("resultBytes", this.limit, WALK_DETAIL);
    while (nodeStack.length > 0) {
      const top = nodeStack.length - 1;
      const node = nodeStack[top]!;
      const j = nextChild[top]!;
      if (j >= start[node + 1]!) {
        onPath[node] = 0;
        nodeStack.pop();
        nextChild.pop();
        continue;
      }
      nextChild[top] = j + 1;
      const child = children[j]!;
      if (onPath[child] === 1) {
        walk += WALK.backEdge;
      } else {
        walk += this.walkSelf[child] ?? 0;
        onPath[child] = 1;
        nodeStack.push(child);
        nextChild.push(start[child]!);
      }
      if (walk > this.limit) throw new MemoryLimitError("resultBytes", this.limit, WALK_DETAIL);
    }
  }
}
