/**
 * Network definitions: {@link io.sparkprop.nn.NetworkSpec} (input size, dense layers with an
 * {@link io.sparkprop.nn.Activation}, a {@link io.sparkprop.nn.Loss}), the parameter layout
 * {@link io.sparkprop.nn.Parameters} (per-layer {@code W_l}, {@code b_l}, flattenable to one
 * {@code double[]}) and the gradient accumulator {@link io.sparkprop.nn.GradientSum}. Nothing here
 * knows of Spark.
 */
package io.sparkprop.nn;
