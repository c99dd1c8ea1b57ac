/**
 * adjoint's automatic-differentiation engine. Isomorphic: no Node.js API, no globals, so the
 * same code runs in worker threads, in tests and in a browser.
 */
export { Context, Tracer, bind, concrete, definePrimitive, primitives, type Limits, type Primitive, type Trace, type Value } from './core.js';
export { EngineError, type EngineErrorCode } from './errors.js';
export { Tensor, broadcastShapes, formatShape, sameShape, sizeOf, type Shape } from './tensor.js';
export { ReusableStorage, TensorStorage } from './storage.js';
export { JvpTrace, JvpTracer } from './forward.js';
export { Tape, TapeTracer, type TapeRecord } from './reverse.js';
export { grad, gradForward, hessian, hvp, jacobian, jvp, vjp, type Fn, type Mode } from './ad.js';
export { compileGradient, type CompiledGradient } from './compile.js';
export { NotCompilable } from './codegen.js';
export { GradientPlan, SOURCE_BYTES_PER_CHAR, compileGradientPlan, type PlanOptions } from './plan.js';
export { gradcheck, type GradcheckResult } from './gradcheck.js';
export * from './ops/elementwise.js';
export * from './ops/math.js';
export * from './ops/shape.js';
export * from './ops/indexing.js';
export * from './ops/reduce.js';
export * from './ops/linalg.js';
export * from './ops/nn.js';
export * from './ops/check.js';
export * from './ops/sequence.js';
export * from './ops/elementary.js';
