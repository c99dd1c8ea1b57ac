/**
 * The intermediate representation that tensor programs and expression graphs both compile to;
 * the interpreter knows nothing else. Names are variable names; `fn` of a call is a catalogue
 * function (operators under mathjs's names: add, multiply, dotMultiply, …).
 */
import type { Tensor } from '../engine/index.js';
import type { Loc } from './errors.js';

export type Expr =
  | { readonly kind: 'const'; readonly value: Tensor; readonly loc: Loc }
  /** A string literal: only ever an option passed to a function (`mse_loss(p, q, "sum")`). */
  | { readonly kind: 'string'; readonly value: string; readonly loc: Loc }
  | { readonly kind: 'var'; readonly name: string; readonly loc: Loc }
  /** A catalogue function. */
  | { readonly kind: 'call'; readonly fn: string; readonly args: readonly Expr[]; readonly loc: Loc }
  /** A function the program defines. */
  | { readonly kind: 'apply'; readonly fn: string; readonly args: readonly Expr[]; readonly loc: Loc }
  /** `[a, b, c]`: the items stacked along a new first axis. */
  | { readonly kind: 'matrix'; readonly items: readonly Expr[]; readonly loc: Loc }
  /** `start:end` or `start:step:end`, inclusive. */
  | { readonly kind: 'range'; readonly start: Expr; readonly step: Expr | null; readonly end: Expr; readonly loc: Loc }
  /** `object[i, j, …]`, 1-based. */
  | { readonly kind: 'index'; readonly object: Expr; readonly dims: readonly Expr[]; readonly loc: Loc }
  /** `end` inside an index: the extent of the dimension being indexed. */
  | { readonly kind: 'end'; readonly loc: Loc }
  /** `test ? then : otherwise`: only the branch taken is evaluated. */
  | { readonly kind: 'cond'; readonly test: Expr; readonly then: Expr; readonly otherwise: Expr; readonly loc: Loc };

export type Stmt =
  | { readonly kind: 'assign'; readonly name: string; readonly value: Expr; readonly loc: Loc }
  | { readonly kind: 'assignIndex'; readonly name: string; readonly dims: readonly Expr[]; readonly value: Expr; readonly loc: Loc }
  | { readonly kind: 'expr'; readonly value: Expr; readonly loc: Loc }
  | { readonly kind: 'function'; readonly name: string; readonly params: readonly string[]; readonly body: Expr; readonly loc: Loc }
  | { readonly kind: 'for'; readonly name: string; readonly iterable: Expr; readonly body: readonly Stmt[]; readonly loc: Loc }
  | { readonly kind: 'while'; readonly test: Expr; readonly body: readonly Stmt[]; readonly loc: Loc }
  | {
      readonly kind: 'if';
      readonly branches: readonly { readonly test: Expr; readonly body: readonly Stmt[] }[];
      readonly otherwise: readonly Stmt[] | null;
      readonly loc: Loc;
    }
  | { readonly kind: 'break'; readonly loc: Loc }
  | { readonly kind: 'continue'; readonly loc: Loc };

export interface Program {
  readonly body: readonly Stmt[];
  /** Names the program reads before (or without) assigning them: its inputs. */
  readonly inputs: readonly string[];
  /** Names the program assigns. */
  readonly assigned: readonly string[];
}
