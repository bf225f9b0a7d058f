/**
 * The driver side of data-parallel training, in the order of one fit: the settings
 * ({@link io.sparkprop.train.MlpSettings}, where every setting's default lives) → the packed data (the executor
 * side's {@code PackedData}) → the loop ({@code TrainingLoop}) of rounds ({@code SynchronousRound}: ship the
 * parameters, every shard's gradient over its blocks, the fixed-order merge, one
 * {@link io.sparkprop.optim.GradientStep} on the driver — or, with the sliced exchange, the merge and the step
 * slice by slice on the executors; or {@code LocalStepsRound}: k of those steps on every
 * shard between two merges and an outer step from their mean delta, k picked before the first round by
 * {@code LocalStepsChoice} when {@code localSteps = auto}), asking its stopping rules
 * ({@code StoppingRule}) after every epoch and recording a {@link io.sparkprop.train.TrainingHistory};
 * checkpoints hold a run's whole state and identity. Per-class weights ({@link io.sparkprop.train.ClassWeights})
 * are counted in the packing pass. {@link io.sparkprop.train.Trainer} is the entry point. What runs inside the
 * tasks is in {@code io.sparkprop.exec}; the update rules and step sizes in {@code io.sparkprop.optim}.
 */
package io.sparkprop.train;
