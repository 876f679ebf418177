/**
 * The error classes every public entry exports (Node's `rexec`, the browser
 * build, the Web Worker entry): one list, so the entries cannot drift apart.
 *
 * @packageDocumentation
 */
export {
  RExecError,
  GuestError,
  LimitError,
  TimeoutError,
  MemoryLimitError,
  StackLimitError,
  OutputLimitError,
  RestrictedError,
  ModuleNotFoundError,
  SystemExit,
  DisposedError,
  CloneError,
  AbortError,
  type GuestFrame,
} from "./errors.js";
