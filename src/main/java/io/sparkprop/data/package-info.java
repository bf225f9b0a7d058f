/**
 * Training data: {@link io.sparkprop.data.Example} records and their packing, once per partition,
 * into a cached {@link io.sparkprop.data.Shard} of column blocks ({@code X} n×B, {@code Y} m×B) that
 * the kernel reads directly — a block of sparse rows as a compressed column matrix of its non-zeros — and,
 * for passes that sum rows, {@link io.sparkprop.data.SparseRows}; generated data
 * ({@link io.sparkprop.data.SparseSynthetic}, wide sparse rows). Nothing here runs a Spark job.
 */
package io.sparkprop.data;
