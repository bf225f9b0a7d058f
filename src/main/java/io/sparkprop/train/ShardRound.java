package io.sparkprop.train;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Function;

import io.sparkprop.exec.OrderedTreeAggregate;
import io.sparkprop.exec.PackedData;
import io.sparkprop.exec.Shard;
import io.sparkprop.exec.Shipped;
import io.sparkprop.linalg.GemmChoice;
import io.sparkprop.nn.Parameters;
import io.sparkprop.nn.kernel.TrainingTerms;
import io.sparkprop.optim.GradientStep;
import io.sparkprop.optim.Optimizer;
import io.sparkprop.optim.StepSchedule;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple2;

/**
 * What every kind of {@link Round} shares: the packed shards, the merge plan, the GEMM the driver chose,
 * the update rule, its step schedule and the gradient step (ridge term and clipping), the training terms (dropout,
 * label smoothing, class factors) and the seed, the executors' counters (blocks read, GEMM fingerprints
 * that differ from the driver's), and the one Spark job of a round — ship the parameters, run a task on
 * every shard, merge the shards' results in the fixed order ({@link PackedData#onShards}).
 */
abstract class ShardRound implements Round, AutoCloseable {
    final OrderedTreeAggregate.Plan plan;
    final GemmChoice gemm;
    final Optimizer rule;
    final StepSchedule schedule;
    final GradientStep step;
    final TrainingTerms terms;
    final long seed;
    final LongAccumulator blocksRead;
    final CollectionAccumulator<String> fingerprints;
    private final PackedData data;

    /**
     * @param updatesPerEpoch mini-batch updates an epoch (the step schedule counts its periods in epochs)
     */
    ShardRound(JavaSparkContext sc, PackedData data, OrderedTreeAggregate.Plan plan, GemmChoice gemm,
               MlpSettings settings, int updatesPerEpoch) {
        this.data = data;
        this.plan = plan;
        this.gemm = gemm;
        this.rule = settings.updateRule();
        this.schedule = settings.stepSchedule(updatesPerEpoch);
        this.step = gradientStep(settings);
        this.terms = terms(settings, data.classCounts());
        this.seed = settings.seed();
        this.blocksRead = sc.sc().longAccumulator("sparkprop blocks read");
        this.fingerprints = sc.sc().collectionAccumulator("sparkprop GEMM fingerprints");
    }

    /**
     * One Spark job: {@code at} and the optimiser {@code state} (no arrays for none) shipped to the executors,
     * the task {@code perShard} makes of them run on every shard, the results merged in the fixed order;
     * {@code null} when no shard returned one. {@code at} and {@code state} must not change until this returns.
     */
    <T> T onShards(Parameters at, double[][] state,
                   Function<Shipped, Function2<Integer, Iterator<Shard>, Iterator<Tuple2<Integer, T>>>> perShard,
                   OrderedTreeAggregate.Merge<T> mergeInPlace) {
        return data.onShards(at, state, perShard, partials -> plan.aggregate(partials, mergeInPlace));
    }

    /** {@link #onShards(Parameters, double[][], Function, OrderedTreeAggregate.Merge)} of a first layer kept as rows. */
    <T> T onShards(Parameters rest, io.sparkprop.exec.FirstLayerRows.Version rows,
                   Function<Shipped, Function2<Integer, Iterator<Shard>, Iterator<Tuple2<Integer, T>>>> perShard,
                   OrderedTreeAggregate.Merge<T> mergeInPlace) {
        return data.onShards(rest, rows, perShard, partials -> plan.aggregate(partials, mergeInPlace));
    }

    /**
     * {@link #onShards(Parameters, double[][], Function, OrderedTreeAggregate.Merge)} of the parameters the sliced
     * exchange's slices hold, read by the tasks from the slices ({@link io.sparkprop.exec.SlicedExchange#theta()}),
     * whose results go to {@code merge} as they are, keyed by partition index (the exchange's step).
     */
    <T, R> R onShardsTo(io.sparkprop.exec.SlicedExchange.Theta at,
                        Function<Shipped, Function2<Integer, Iterator<Shard>, Iterator<Tuple2<Integer, T>>>> perShard,
                        Function<org.apache.spark.api.java.JavaPairRDD<Integer, T>, R> merge) {
        return data.onShards(at, perShard, merge);
    }

    /** The gradient step of {@code settings}: their ridge term and clipping. */
    static GradientStep gradientStep(MlpSettings settings) {
        return new GradientStep(settings.regParam(), settings.clipNorm());
    }

    /** The training terms of {@code settings}, with balanced class weights from the packing pass's counts. */
    static TrainingTerms terms(MlpSettings settings, long[] classCounts) {
        ClassWeights cw = settings.parsedClassWeights();
        double[] factors = cw.isNone() ? null : cw.factors(classCounts.length, classCounts);
        if (factors != null) {
            boolean weighs = false;
            for (int c = 0; c < factors.length; c++) {
                weighs |= factors[c] > 0 && classCounts[c] > 0;
            }
            if (!weighs) {
                throw new IllegalArgumentException("classWeights " + cw + " give every training example weight 0 "
                        + "(training examples per class " + java.util.Arrays.toString(classCounts) + "): nothing to "
                        + "train on");
            }
        }
        return TrainingTerms.of(settings.dropout(), settings.labelSmoothing(), factors);
    }

    /** Releases what the rounds keep on the executors beyond the fit's data (nothing, unless overridden). */
    @Override
    public void close() {
    }

    @Override
    public long diskBytesRead() {
        return data.diskBytesRead();
    }

    @Override
    public List<String> otherFingerprints() {
        return new ArrayList<>(new TreeSet<>(fingerprints.value()));
    }
}
