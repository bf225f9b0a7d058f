/**
 * The data-parallel training loop: {@link io.sparkprop.train.Trainer} packs the data into cached
 * shards, broadcasts the parameters each iteration, sums the partitions' gradients in a fixed-order
 * tree, and applies an {@link io.sparkprop.train.Optimizer} (SGD, momentum, Nesterov, Adam) with the
 * ridge term on the driver, recording a {@link io.sparkprop.train.TrainingHistory}.
 */
package io.sparkprop.train;
