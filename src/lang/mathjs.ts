/**
 * The one mathjs instance the language uses, built with `create` from the two factories it
 * needs, not all of mathjs: the parser (parse.ts), and `Unit` to tell a unit name from a missing
 * input (interpret.ts). The `derivative` endpoint's instance, with mathjs's symbolic
 * differentiation and the catalogue's functions, is symbolic.ts, loaded only when needed.
 * test/lang/mathjs.test.ts holds both to the full mathjs.
 */
import { create, parseDependencies, UnitDependencies } from 'mathjs';

const math = create({ parseDependencies, UnitDependencies });

export const { parse, Unit } = math;
/** The instance, for the test that compares it with all of mathjs. */
export const mathjs = math;
