/**
 * File access modes and the policy gate type, on their own so the public
 * declarations need nothing of the module host's internals.
 *
 * @packageDocumentation
 */

/** File access modes the guest's `fs` asks `r_open` about. */
export type OpenMode = "r" | "w" | "a";

/** The policy gate every guest file access passes through (RExec.r_open). */
export type OpenGate = (path: string, mode: OpenMode) => void;
