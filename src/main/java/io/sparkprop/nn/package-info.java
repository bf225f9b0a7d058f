/**
 * Network definitions: {@link io.sparkprop.nn.NetworkSpec} (input size, dense layers with an
 * {@link io.sparkprop.nn.Activation}, a {@link io.sparkprop.nn.Loss}), the parameter layout
 * {@link io.sparkprop.nn.Parameters} (every {@code W_l} row-major and {@code b_l} in one flat
 * {@code double[]} that the kernel, the merge and the optimiser use in place; users read layers as Spark ML
 * matrices and vectors) and the gradient accumulator {@link io.sparkprop.nn.GradientSum} (which holds and
 * exchanges the first layer's gradient of sparse blocks as the rows of the features they touch). Nothing here
 * runs a Spark job.
 */
package io.sparkprop.nn;
