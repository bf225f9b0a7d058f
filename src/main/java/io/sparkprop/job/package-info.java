/**
 * The command-line training job: {@link io.sparkprop.job.JobConfig} (a checked {@code .properties}
 * file) and {@link io.sparkprop.job.TrainJob} (data, split, Pipeline fit, evaluation, outputs),
 * launched by {@code jobs/train} on an embedded local Spark or by {@code jobs/submit} on a cluster.
 */
package io.sparkprop.job;
