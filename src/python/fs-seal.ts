/**
 * The interpreter's read-only trees in the guest's in-memory file system:
 * the standard library (`/lib`) and the devices (`/dev`).
 *
 * Invariant: once {@link sealReadOnlyTrees}'s `seal` has run (before the
 * firewall is armed, before any guest code), no node under a sealed tree is
 * created, removed, renamed (in or out), re-linked or changed by `setattr`
 * (truncate, chmod, utime): those syscalls take no `openat`, so r_open never
 * saw them — rename, mkdir and symlink planted modules in /lib/python3.14 (on
 * sys.path, trusted by the import gate as the standard library) and rename
 * could replace /lib/python314.zip. Opening for a write is r_open's business
 * (the worker refuses writes there too).
 *
 * @packageDocumentation
 */

const EACCES = 2;
const SEALED = ["/lib", "/dev"] as const;

/** True if `path` is a sealed tree or under one. */
export function inSealedTree(path: string): boolean {
  return SEALED.some((root) => path === root || path.startsWith(`${root}/`));
}

/**
 * Wrap MEMFS's mutating node operations; they refuse sealed paths once the
 * returned `seal` is called (the runtime's own set-up — devices, the
 * standard library — happens before).
 */
export function sealReadOnlyTrees(FS: any): () => void {
  const MEMFS = FS.filesystems.MEMFS;
  let sealed = false;
  const pathOf = (node: unknown) => FS.getPath(node) as string;
  const child = (parent: unknown, name: string) => {
    const base = pathOf(parent);
    return `${base === "/" ? "" : base}/${String(name)}`;
  };
  const refuse = (...paths: string[]) => {
    if (sealed && paths.some(inSealedTree)) throw new FS.ErrnoError(EACCES);
  };
  const dirOps = MEMFS.ops_table.dir.node;
  for (const op of ["mknod", "symlink", "unlink", "rmdir"]) {
    const original = dirOps[op];
    dirOps[op] = function (this: unknown, parent: unknown, name: string, ...rest: unknown[]) {
      refuse(child(parent, name));
      return original.call(this, parent, name, ...rest);
    };
  }
  const rename = dirOps.rename;
  dirOps.rename = function (this: unknown, node: unknown, newDir: unknown, newName: string) {
    refuse(pathOf(node), child(newDir, newName));
    return rename.call(this, node, newDir, newName);
  };
  for (const kind of ["dir", "file", "link", "chrdev"]) {
    const ops = MEMFS.ops_table[kind]?.node;
    if (!ops?.setattr) continue;
    const setattr = ops.setattr;
    ops.setattr = function (this: unknown, node: unknown, attr: unknown) {
      refuse(pathOf(node));
      return setattr.call(this, node, attr);
    };
  }
  return () => {
    sealed = true;
  };
}
