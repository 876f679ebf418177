// The subset of the WebAssembly JS API rexec uses. @types/node 20 does not
// declare it, and pulling in the DOM lib would declare far more than Node has.
declare namespace WebAssembly {
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    readonly buffer: ArrayBuffer;
    grow(delta: number): number;
  }
  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
  }
  class RuntimeError extends Error {}
}
