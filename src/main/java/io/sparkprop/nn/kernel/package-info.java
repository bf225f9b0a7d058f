/**
 * The per-block compute kernel: forward and backward passes of a network over a block of examples
 * stored as columns, with the delta recursion {@code δ_l = f'(z_l) ∘ W_{l+1}ᵀ δ_{l+1}} and weight
 * gradients as outer products summed by one GEMM per layer, {@code ∇W_l = Δ_l A_{l-1}ᵀ}. A
 * {@link io.sparkprop.nn.kernel.BackpropKernel} owns a reusable workspace; one per task. In float32
 * ({@link io.sparkprop.linalg.Precision}) its GEMMs run in single precision and everything between and
 * after them in double. A training pass may change the objective by {@link io.sparkprop.nn.kernel.TrainingTerms}:
 * dropout with masks from a counter-based generator, label smoothing, class factors of the weights.
 */
package io.sparkprop.nn.kernel;
