/**
 * Optimisation, shared by the driver and the executors and knowing nothing of Spark: the update rules
 * ({@link io.sparkprop.optim.Optimizer}: SGD, momentum, Nesterov, Adam, with their per-run state), the step size
 * of every update ({@link io.sparkprop.optim.StepSchedule}: warm-up, inverse-time decay, steps, cosine — the one
 * place of the decay's formula), global-norm clipping ({@link io.sparkprop.optim.Clipping}), and the one
 * gradient step that every round takes ({@link io.sparkprop.optim.GradientStep}: mean gradient, ridge term,
 * clipping, rule), with its lazy form for a wide sparse first layer kept as rows per feature
 * ({@link io.sparkprop.optim.LazyFirstLayer}: the rows a step touches, caught up for the steps they missed), and
 * its form on one slice of the parameters for the sliced exchange ({@code GradientStep.applySlice}).
 */
package io.sparkprop.optim;
