/**
 * Declarations for the four modules of sucrase's parser that typescript.ts
 * imports by path (sucrase publishes types for them under dist/types/, which a
 * deep import of dist/esm/ does not find). Only the members used here.
 */
declare module "sucrase/dist/esm/parser/index.js" {
  export interface SucraseToken {
    type: number;
    contextualKeyword: number;
    start: number;
    end: number;
    isType: boolean;
  }
  export function parse(input: string, isJSXEnabled: boolean, isTypeScriptEnabled: boolean, isFlowEnabled: boolean): { tokens: SucraseToken[] };
}

declare module "sucrase/dist/esm/parser/tokenizer/types.js" {
  export const TokenType: Readonly<Record<string, number>>;
}

declare module "sucrase/dist/esm/parser/tokenizer/keywords.js" {
  export const ContextualKeyword: Readonly<Record<string, number>>;
}

declare module "sucrase/dist/esm/parser/tokenizer/state.js" {
  /** A parser position to rewind to (only `pos`, the input offset, is read here). */
  export interface SucraseSnapshot {
    readonly pos: number;
  }
  export default class State {
    pos: number;
    restoreFromSnapshot(snapshot: SucraseSnapshot): void;
  }
}
