/**
 * Ridge (L2-penalised least squares) regression for one or many outputs:
 * {@link io.sparkprop.ridge.RidgeSolver} with the closed form from one distributed pass of
 * sufficient statistics ({@link io.sparkprop.ridge.RidgeStatistics}, BLAS-3 per block, Cholesky on the
 * driver) or the distributed SGD trainer, both giving a {@link io.sparkprop.ridge.RidgeSolution}.
 */
package io.sparkprop.ridge;
