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
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple2;

/**
 * What every kind of {@link Round} shares: the packed shards, the merge plan, the GEMM the driver chose,
 * the update rule, the ridge term and the seed, the executors' counters (blocks read, GEMM fingerprints
 * that differ from the driver's), and the one Spark job of a round — ship the parameters, run a task on
 * every shard, merge the shards' results in the fixed order.
 */
abstract class ShardRound implements Round {
    final JavaSparkContext sc;
    final OrderedTreeAggregate.Plan plan;
    final GemmChoice gemm;
    final Optimizer rule;
    final double regParam;
    final long seed;
    final LongAccumulator blocksRead;
    final CollectionAccumulator<String> fingerprints;
    private final JavaRDD<Shard> shards;
    private final Precision precision;

    ShardRound(JavaSparkContext sc, PackedData data, OrderedTreeAggregate.Plan plan, GemmChoice gemm,
               MlpSettings settings) {
        this.sc = sc;
        this.shards = data.shards;
        this.precision = data.precision;
        this.plan = plan;
        this.gemm = gemm;
        this.rule = settings.updateRule();
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

    @Override
    public List<String> otherFingerprints() {
        return new ArrayList<>(new TreeSet<>(fingerprints.value()));
    }
}
