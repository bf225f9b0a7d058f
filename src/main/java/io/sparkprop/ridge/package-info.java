/**
 * Ridge (L2-penalised least squares) regression for one or many outputs:
 * {@link io.sparkprop.ridge.RidgeSolver} with the closed form from one distributed pass of centred
 * co-moments ({@code RidgeStatistics}: BLAS-3 per block, blocks and partitions combined by the pairwise
 * update in a fixed order) solved on the driver by {@code NormalEquations} (an equilibrated Cholesky
 * factorisation, testable without Spark), or with the distributed SGD trainer; both give a
 * {@link io.sparkprop.ridge.RidgeSolution}.
 */
package io.sparkprop.ridge;
