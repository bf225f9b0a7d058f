package io.sparkprop.train;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Function;

import io.sparkprop.data.Shard;
import io.sparkprop.linalg.GemmChoice;
import io.sparkprop.nn.Parameters;
import io.sparkprop.nn.Precision;
import io.sparkprop.nn.kernel.TrainingTerms;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple2;

/**
 * What every kind of {@link Round} shares: the packed shards, the merge plan, the GEMM the driver chose,
 * the update rule and its step schedule, the ridge term, the clipping norm, the training terms (dropout, label
 * smoothing, class factors) and the seed, the executors' counters (blocks read, GEMM fingerprints
 * that differ from the driver's), and the one Spark job of a round — ship the parameters, run a task on
 * every shard, merge the shards' results in the fixed order.
 */
abstract class ShardRound implements Round {
    final JavaSparkContext sc;
    final OrderedTreeAggregate.Plan plan;
    final GemmChoice gemm;
    final Optimizer rule;
    final StepSchedule schedule;
    final TrainingTerms terms;
    final double clipNorm;
    final double regParam;
    final long seed;
    final LongAccumulator blocksRead;
    final CollectionAccumulator<String> fingerprints;
    private final JavaRDD<Shard> shards;
    private final Precision precision;

    /**
     * @param updatesPerEpoch mini-batch updates an epoch (the step schedule counts its periods in epochs)
     */
    ShardRound(JavaSparkContext sc, PackedData data, OrderedTreeAggregate.Plan plan, GemmChoice gemm,
               MlpSettings settings, int updatesPerEpoch) {
        this.sc = sc;
        this.shards = data.shards;
        this.precision = data.precision;
        this.plan = plan;
        this.gemm = gemm;
        this.rule = settings.updateRule();
        this.schedule = StepSchedule.of(settings, updatesPerEpoch);
        this.terms = terms(settings, data.classCounts);
        this.clipNorm = settings.clipNorm();
        this.regParam = settings.regParam();
        this.seed = settings.seed();
        this.blocksRead = sc.sc().longAccumulator("sparkprop blocks read");
        this.fingerprints = sc.sc().collectionAccumulator("sparkprop GEMM fingerprints");
    }

    /**
     * One Spark job: {@code at} shipped to the executors ({@link Shipped}), the task {@code perShard} makes of
     * it run on every shard, the results merged in the fixed order; {@code null} when no shard returned one.
     * {@code at} must not change until this returns.
     */
    <T> T onShards(Parameters at,
                   Function<Shipped, Function2<Integer, Iterator<Shard>, Iterator<Tuple2<Integer, T>>>> perShard,
                   OrderedTreeAggregate.Merge<T> mergeInPlace) {
        try (Shipped shipped = Shipped.of(sc, at, precision)) {
            return plan.aggregate(JavaPairRDD.fromJavaRDD(shards.mapPartitionsWithIndex(perShard.apply(shipped),
                    true)), mergeInPlace);
        }
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

    /**
     * Clips {@code g} (modified) to the global norm {@code clipNorm} when it is larger:
     * {@code g ← g · c/‖g‖} (Pascanu et al. 2013), the direction kept. Returns {@code ‖g‖} before clipping, or
     * NaN without clipping ({@code c = 0}, when the norm is not computed).
     */
    static double clip(double[] g, double clipNorm) {
        if (clipNorm == 0) {
            return Double.NaN;
        }
        // scaled by the largest |g_i| first, so that no square overflows or underflows
        double largest = 0;
        for (double v : g) {
            largest = Math.max(largest, Math.abs(v));
        }
        if (largest == 0) {
            return 0.0;
        }
        double squares = 0;
        for (double v : g) {
            double u = v / largest;
            squares += u * u;
        }
        double norm = largest * Math.sqrt(squares);
        if (norm > clipNorm) {
            double scale = clipNorm / norm;
            for (int i = 0; i < g.length; i++) {
                g[i] *= scale;
            }
        }
        return norm;
    }

    @Override
    public List<String> otherFingerprints() {
        return new ArrayList<>(new TreeSet<>(fingerprints.value()));
    }
}
