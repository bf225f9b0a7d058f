/**
 * Network definitions: {@link io.sparkprop.nn.NetworkSpec} (input size, dense layers with an
 * {@link io.sparkprop.nn.Activation}, a {@link io.sparkprop.nn.Loss}), the parameter layout
 * {@link io.sparkprop.nn.Parameters} (per-layer {@code W_l}, {@code b_l} as row-major arrays, read by
 * users as Spark ML matrices and vectors, flattenable to one {@code double[]}) and the gradient
 * accumulator {@link io.sparkprop.nn.GradientSum}. Nothing here runs a Spark job.
 */
package io.sparkprop.nn;
