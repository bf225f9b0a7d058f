/**
 * Training data: {@link io.sparkprop.data.Example} records and their packing, once per partition,
 * into a cached {@link io.sparkprop.data.Shard} of column blocks ({@code X} n×B, {@code Y} m×B) that
 * the kernel reads directly. Nothing here runs a Spark job.
 */
package io.sparkprop.data;
